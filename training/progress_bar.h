// A one-line terminal progress bar for training loops:
//
//   epoch 1/3 [=========>          ] 469/938 loss 0.5123 14210 img/s ETA 0:33
//
// It redraws in place with '\r' and is meant for interactive terminals only:
// constructed with `interactive = false` (the caller checks isatty on the
// stream it writes to) it prints nothing, so logs and CI output stay clean.
// Redraws are rate-limited to `min_redraw_seconds` so that a fast loop does
// not spend its time in terminal I/O.
#ifndef EDGECOMPRESS_TRAINING_PROGRESS_BAR_H_
#define EDGECOMPRESS_TRAINING_PROGRESS_BAR_H_

#include <cstdint>
#include <cstdio>
#include <string>

namespace edgecompress::training {

struct ProgressState {
  int epoch = 0, num_epochs = 0;           // epoch is 1-based
  int64_t step = 0, steps_per_epoch = 0;   // step is 1-based within the epoch
  double loss = 0.0;                       // running mean over the epoch
  double images_per_second = 0.0;
  double elapsed_seconds = 0.0;            // since the epoch began
};

// The bar as text, without '\r' or newline; `bar_width` cells between the brackets.
std::string RenderProgress(const ProgressState& state, int bar_width);

class ProgressBar {
 public:
  // Does not take ownership of `out`.
  ProgressBar(std::FILE* out, bool interactive, double min_redraw_seconds = 0.1);

  // Redraws when interactive and the last redraw is old enough (or the epoch
  // just ended).
  void Update(const ProgressState& state);

  // Ends the current line, so that following output starts on its own line.
  void Finish();

 private:
  std::FILE* out_;
  bool interactive_;
  double min_redraw_seconds_;
  double last_redraw_seconds_ = -1.0;
  bool drawn_ = false;
};

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_PROGRESS_BAR_H_
