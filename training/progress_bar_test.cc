#include "training/progress_bar.h"

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edgecompress::training {
namespace {

using ::testing::HasSubstr;

TEST(RenderProgressTest, ShowsEveryField) {
  const ProgressState state = {.epoch = 1, .num_epochs = 3, .step = 469, .steps_per_epoch = 938,
                               .loss = 0.51234, .images_per_second = 14210.4,
                               .elapsed_seconds = 33.0};
  // 33 s for 469 steps, 469 to go: ETA 33 s.
  EXPECT_EQ(RenderProgress(state, 10),
            "epoch 1/3 [=====>    ] 469/938 loss 0.5123 14210 img/s ETA 0:33");
}

TEST(RenderProgressTest, EmptyAndFullBars) {
  ProgressState state = {.epoch = 2, .num_epochs = 2, .step = 0, .steps_per_epoch = 4};
  EXPECT_THAT(RenderProgress(state, 4), HasSubstr("[>   ] 0/4"));
  EXPECT_THAT(RenderProgress(state, 4), HasSubstr("ETA ?"));
  state.step = 4;
  state.elapsed_seconds = 125;
  EXPECT_THAT(RenderProgress(state, 4), HasSubstr("[====] 4/4"));
  EXPECT_THAT(RenderProgress(state, 4), HasSubstr("ETA 0:00"));
}

std::string Drive(bool interactive) {
  std::FILE* file = std::tmpfile();
  ProgressBar bar(file, interactive, /*min_redraw_seconds=*/1.0);
  for (int step = 1; step <= 10; ++step) {
    bar.Update({.epoch = 1, .num_epochs = 1, .step = step, .steps_per_epoch = 10,
                .elapsed_seconds = step * 0.3});
  }
  bar.Finish();
  std::rewind(file);
  std::string text;
  for (int c; (c = std::fgetc(file)) != EOF;) text.push_back(static_cast<char>(c));
  std::fclose(file);
  return text;
}

TEST(ProgressBarTest, QuietWhenNotInteractive) { EXPECT_EQ(Drive(false), ""); }

// Steps every 0.3 s with redraws at most every 1 s: steps 1, 5 (1.5 s), 9
// (2.7 s) and the last one, then a newline.
TEST(ProgressBarTest, RateLimitsRedrawsAndAlwaysDrawsTheLastStep) {
  const std::string text = Drive(true);
  int redraws = 0;
  for (char c : text) redraws += c == '\r';
  EXPECT_EQ(redraws, 4);
  EXPECT_THAT(text, HasSubstr("10/10"));
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace edgecompress::training
