#include "training/batch_source.h"

#include <torch/torch.h>

#include <cmath>
#include <set>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::training {
namespace {

ImageDataset Numbered(int64_t size) {
  ImageDataset data{.size = size, .channels = 1, .height = 2, .width = 2, .num_classes = 10};
  for (int64_t i = 0; i < size; ++i) {
    data.pixels.insert(data.pixels.end(), 4, static_cast<uint8_t>(i));
    data.labels.push_back(static_cast<uint8_t>(i % 10));
  }
  return data;
}

// Every sample once per epoch, a new order each epoch, the same order for
// the same (seed, epoch) whatever ran before.
TEST(InMemoryBatchSourceTest, ShufflesEachEpochDeterministically) {
  const TensorDataset data = ToTensorDataset(Numbered(10), 0.0f, 1.0f / 255.0f);
  InMemoryBatchSource source(data, /*batch_size=*/4, /*seed=*/3);
  EXPECT_EQ(source.batches_per_epoch(), 3);
  const auto epoch_order = [&](int epoch) {
    EXPECT_THAT(source.StartEpoch(epoch), IsOk());
    std::vector<int> order;
    while (std::optional<TensorBatch> batch = source.Next()) {
      for (int64_t i = 0; i < batch->images.size(0); ++i) {
        order.push_back(static_cast<int>(std::lround(batch->images[i][0][0][0].item<float>())));
      }
    }
    return order;
  };
  const std::vector<int> first = epoch_order(0), second = epoch_order(1);
  EXPECT_EQ(std::set<int>(first.begin(), first.end()).size(), 10u);
  EXPECT_NE(first, second);
  EXPECT_EQ(epoch_order(0), first);
}

TEST(LoaderBatchSourceTest, WrapsTheLoaderBatchesAsTensors) {
  const ImageDataset data = Numbered(10);
  absl::StatusOr<std::unique_ptr<BatchLoader>> loader = BatchLoader::Create(
      &data, {.batch_size = 4, .shuffle = false,
              .augment_options = {.crop_padding = 0, .mean = {0.0f}, .stddev = {1.0f}},
              .num_workers = 1});
  ASSERT_THAT(loader, IsOk());
  LoaderBatchSource source(*std::move(loader));
  EXPECT_EQ(source.batches_per_epoch(), 3);
  ASSERT_THAT(source.StartEpoch(0), IsOk());
  std::vector<int64_t> sizes;
  std::optional<TensorBatch> last;
  while (std::optional<TensorBatch> batch = source.Next()) {
    sizes.push_back(batch->images.size(0));
    EXPECT_EQ(batch->images.sizes(), (torch::IntArrayRef{batch->images.size(0), 1, 2, 2}));
    last = std::move(batch);
  }
  EXPECT_THAT(sizes, ::testing::ElementsAre(4, 4, 2));
  // Unshuffled: the last batch holds images 8 and 9 (pixel value / 255).
  EXPECT_FLOAT_EQ(last->images[1][0][1][1].item<float>(), 9.0f / 255.0f);
  EXPECT_EQ(last->labels[1].item<int64_t>(), 9);
}

}  // namespace
}  // namespace edgecompress::training
