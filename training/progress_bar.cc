#include "training/progress_bar.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace edgecompress::training {

std::string RenderProgress(const ProgressState& state, int bar_width) {
  const double fraction =
      state.steps_per_epoch > 0
          ? std::clamp(static_cast<double>(state.step) / state.steps_per_epoch, 0.0, 1.0)
          : 0.0;
  const int filled = static_cast<int>(fraction * bar_width);
  std::string bar(filled, '=');
  if (filled < bar_width) bar += '>';
  bar.resize(bar_width, ' ');

  // ETA from the epoch's own pace: the remaining steps at the mean step time.
  std::string eta = "?";
  if (state.step > 0 && state.elapsed_seconds > 0) {
    const int64_t seconds = std::llround(state.elapsed_seconds / state.step *
                                         (state.steps_per_epoch - state.step));
    eta = absl::StrFormat("%d:%02d", seconds / 60, seconds % 60);
  }
  return absl::StrFormat("epoch %d/%d [%s] %d/%d loss %.4f %.0f img/s ETA %s", state.epoch,
                         state.num_epochs, bar, state.step, state.steps_per_epoch, state.loss,
                         state.images_per_second, eta);
}

ProgressBar::ProgressBar(std::FILE* out, bool interactive, double min_redraw_seconds)
    : out_(out), interactive_(interactive), min_redraw_seconds_(min_redraw_seconds) {}

void ProgressBar::Update(const ProgressState& state) {
  if (!interactive_) return;
  const bool last_step = state.step >= state.steps_per_epoch;
  if (!last_step && last_redraw_seconds_ >= 0 &&
      state.elapsed_seconds - last_redraw_seconds_ < min_redraw_seconds_ &&
      state.elapsed_seconds >= last_redraw_seconds_) {
    return;
  }
  last_redraw_seconds_ = state.elapsed_seconds;
  // "\x1b[K" clears what a longer previous line left behind.
  std::fprintf(out_, "\r%s\x1b[K", RenderProgress(state, 30).c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (!drawn_) return;
  std::fputc('\n', out_);
  std::fflush(out_);
  drawn_ = false;
  last_redraw_seconds_ = -1.0;
}

}  // namespace edgecompress::training
