#include "sweep/trial.h"

namespace edgecompress::sweep {

namespace {
constexpr std::pair<TrialState, absl::string_view> kNames[] = {
    {TrialState::kRunning, "running"}, {TrialState::kFinished, "finished"},
    {TrialState::kRuined, "ruined"},   {TrialState::kFailed, "failed"},
    {TrialState::kTimedOut, "timeout"}, {TrialState::kStopped, "stopped"},
};
}  // namespace

absl::string_view TrialStateName(TrialState state) {
  for (const auto& [value, name] : kNames) {
    if (value == state) return name;
  }
  return "?";
}

std::optional<TrialState> ParseTrialState(absl::string_view name) {
  for (const auto& [value, known] : kNames) {
    if (known == name) return value;
  }
  return std::nullopt;
}

}  // namespace edgecompress::sweep
