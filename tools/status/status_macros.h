// Early-return helpers for absl::Status and absl::StatusOr.
//
// Abseil 20220623 ships no status macros; these two are the ones every package
// here uses, with the semantics of the macros in Abseil's later releases:
//
//   RETURN_IF_ERROR(expr);            // returns expr's status if it is not OK
//   ASSIGN_OR_RETURN(lhs, expr);      // lhs = *expr, or returns expr.status()
//
// `lhs` may be a declaration (`auto schedule`) or an existing variable. Both
// macros evaluate `expr` exactly once.
#ifndef EDGECOMPRESS_TOOLS_STATUS_STATUS_MACROS_H_
#define EDGECOMPRESS_TOOLS_STATUS_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define RETURN_IF_ERROR(expr)                                   \
  do {                                                          \
    const ::absl::Status edgecompress_status_ = (expr);         \
    if (!edgecompress_status_.ok()) return edgecompress_status_; \
  } while (false)

#define EDGECOMPRESS_STATUS_CONCAT_INNER_(a, b) a##b
#define EDGECOMPRESS_STATUS_CONCAT_(a, b) EDGECOMPRESS_STATUS_CONCAT_INNER_(a, b)

#define ASSIGN_OR_RETURN(lhs, expr)                                            \
  EDGECOMPRESS_ASSIGN_OR_RETURN_IMPL_(                                         \
      EDGECOMPRESS_STATUS_CONCAT_(edgecompress_statusor_, __LINE__), lhs, expr)

#define EDGECOMPRESS_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                        \
  if (!statusor.ok()) return std::move(statusor).status();       \
  lhs = *std::move(statusor)

#endif  // EDGECOMPRESS_TOOLS_STATUS_STATUS_MACROS_H_
