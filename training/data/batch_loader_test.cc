#include "training/data/batch_loader.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numeric>
#include <optional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"
#include "training/data/augment.h"
#include "training/data/portable_random.h"
#include "training/data/synthetic.h"

namespace edgecompress::training {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// `size` 1x1x2 images, image i holding (i % 256, i / 256) and label i % 7.
// With mean 0 and stddev 1 the floats are pixel / 255, so each image of a
// batch says which source image it is.
ImageDataset Numbered(int64_t size) {
  ImageDataset data{.size = size, .channels = 1, .height = 1, .width = 2, .num_classes = 7};
  for (int64_t i = 0; i < size; ++i) {
    data.pixels.push_back(static_cast<uint8_t>(i % 256));
    data.pixels.push_back(static_cast<uint8_t>(i / 256));
    data.labels.push_back(static_cast<uint8_t>(i % 7));
  }
  return data;
}

BatchLoaderOptions NumberedOptions() {
  BatchLoaderOptions options;
  options.augment_options = {.crop_padding = 0, .mean = {0.0f}, .stddev = {1.0f}};
  return options;
}

// The source indices of a batch of Numbered images.
std::vector<int64_t> SourcesOf(const Batch& batch) {
  std::vector<int64_t> sources;
  for (int64_t j = 0; j < batch.size; ++j) {
    sources.push_back(static_cast<int64_t>(batch.images[2 * j] * 255.0f + 0.5f) +
                      256 * static_cast<int64_t>(batch.images[2 * j + 1] * 255.0f + 0.5f));
  }
  return sources;
}

std::vector<Batch> Epoch(BatchLoader& loader, int epoch) {
  EXPECT_THAT(loader.StartEpoch(epoch), IsOk());
  std::vector<Batch> batches;
  while (std::optional<Batch> batch = loader.Next()) batches.push_back(std::move(*batch));
  return batches;
}

std::unique_ptr<BatchLoader> MakeLoader(const ImageDataset& data,
                                        const BatchLoaderOptions& options) {
  absl::StatusOr<std::unique_ptr<BatchLoader>> loader = BatchLoader::Create(&data, options);
  EXPECT_THAT(loader, IsOk());
  return loader.ok() ? std::move(*loader) : nullptr;
}

void ExpectSameBatches(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(a[i].index, b[i].index);
    EXPECT_EQ(a[i].size, b[i].size);
    EXPECT_EQ(a[i].labels, b[i].labels);
    // Byte-identical, not merely close.
    ASSERT_EQ(a[i].images.size(), b[i].images.size());
    EXPECT_EQ(
        std::memcmp(a[i].images.data(), b[i].images.data(), a[i].images.size() * sizeof(float)), 0);
  }
}

TEST(BatchLoaderTest, NumBatchesAndSizesWithAndWithoutDropLast) {
  const ImageDataset data = Numbered(10);
  BatchLoaderOptions options = NumberedOptions();
  options.batch_size = 4;
  std::unique_ptr<BatchLoader> keep = MakeLoader(data, options);
  options.drop_last = true;
  std::unique_ptr<BatchLoader> drop = MakeLoader(data, options);
  ASSERT_NE(keep, nullptr);
  ASSERT_NE(drop, nullptr);
  EXPECT_EQ(keep->num_batches(), 3);
  EXPECT_EQ(drop->num_batches(), 2);
  std::vector<int64_t> sizes;
  for (const Batch& batch : Epoch(*keep, 0)) sizes.push_back(batch.size);
  EXPECT_THAT(sizes, ElementsAre(4, 4, 2));
  sizes.clear();
  for (const Batch& batch : Epoch(*drop, 0)) sizes.push_back(batch.size);
  EXPECT_THAT(sizes, ElementsAre(4, 4));
}

TEST(BatchLoaderTest, WithoutShuffleBatchesFollowTheDataset) {
  const ImageDataset data = Numbered(7);
  BatchLoaderOptions options = NumberedOptions();
  options.batch_size = 3;
  options.shuffle = false;
  std::unique_ptr<BatchLoader> loader = MakeLoader(data, options);
  ASSERT_NE(loader, nullptr);
  const std::vector<Batch> batches = Epoch(*loader, 5);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_THAT(SourcesOf(batches[0]), ElementsAre(0, 1, 2));
  EXPECT_THAT(SourcesOf(batches[2]), ElementsAre(6));
  EXPECT_THAT(batches[1].labels, ElementsAre(3, 4, 5));
  EXPECT_THAT(batches[2].index, 2);
}

// Each shuffled epoch visits every image once, epochs differ, and the same
// epoch is the same on a fresh loader (what resuming a run relies on).
TEST(BatchLoaderTest, ShuffledEpochsArePermutationsReproducibleOnResume) {
  const ImageDataset data = Numbered(300);
  BatchLoaderOptions options = NumberedOptions();
  options.batch_size = 32;
  options.seed = 17;
  std::unique_ptr<BatchLoader> loader = MakeLoader(data, options);
  ASSERT_NE(loader, nullptr);
  std::vector<std::vector<int64_t>> orders;
  for (int epoch = 0; epoch < 3; ++epoch) {
    std::vector<int64_t> order;
    for (const Batch& batch : Epoch(*loader, epoch)) {
      const std::vector<int64_t> sources = SourcesOf(batch);
      order.insert(order.end(), sources.begin(), sources.end());
      for (int64_t j = 0; j < batch.size; ++j) ASSERT_EQ(batch.labels[j], sources[j] % 7);
    }
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < 300; ++i) ASSERT_EQ(sorted[i], i);
    orders.push_back(order);
  }
  EXPECT_NE(orders[0], orders[1]);
  EXPECT_NE(orders[1], orders[2]);
  std::unique_ptr<BatchLoader> resumed = MakeLoader(data, options);
  ASSERT_NE(resumed, nullptr);
  std::vector<int64_t> order;
  for (const Batch& batch : Epoch(*resumed, 2)) {
    const std::vector<int64_t> sources = SourcesOf(batch);
    order.insert(order.end(), sources.begin(), sources.end());
  }
  EXPECT_EQ(order, orders[2]);
}

// The documented derivation, recomputed here: order from
// SplitMix64(MixSeed(MixSeed(seed, e), kOrderStream)), image i augmented with
// SplitMix64(MixSeed(MixSeed(seed, e), i)).
TEST(BatchLoaderTest, BatchesFollowTheDocumentedSeedDerivation) {
  absl::StatusOr<ImageDataset> data = MakeSyntheticDataset(
      {.size = 40, .channels = 3, .height = 8, .width = 8, .num_classes = 4, .seed = 1});
  ASSERT_THAT(data, IsOk());
  BatchLoaderOptions options;
  options.batch_size = 16;
  options.augment = true;
  options.seed = 5;
  options.num_workers = 2;
  std::unique_ptr<BatchLoader> loader = MakeLoader(*data, options);
  ASSERT_NE(loader, nullptr);
  const std::vector<Batch> batches = Epoch(*loader, 3);

  const uint64_t epoch_seed = MixSeed(5, 3);
  std::vector<int64_t> order(40);
  std::iota(order.begin(), order.end(), 0);
  SplitMix64 order_rng(MixSeed(epoch_seed, BatchLoader::kOrderStream));
  Shuffle(absl::MakeSpan(order), order_rng);
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(3, 8, 8);
  ASSERT_THAT(augmenter, IsOk());
  ASSERT_EQ(batches.size(), 3u);
  for (int64_t position = 0; position < 40; ++position) {
    const Batch& batch = batches[position / 16];
    const int64_t j = position % 16, source = order[position];
    std::vector<float> expected(192);
    SplitMix64 rng(MixSeed(epoch_seed, source));
    augmenter->Augment(absl::MakeConstSpan(&data->pixels[source * 192], 192), rng,
                       absl::MakeSpan(expected));
    ASSERT_EQ(
        std::vector<float>(batch.images.begin() + j * 192, batch.images.begin() + (j + 1) * 192),
        expected)
        << "position " << position;
    ASSERT_EQ(batch.labels[j], data->labels[source]);
  }
}

// The central guarantee: 0, 1 and 3 workers, any prefetch depth, give
// byte-identical batches in the same order, with augmentation on.
TEST(BatchLoaderTest, ContentAndOrderDoNotDependOnThreads) {
  absl::StatusOr<ImageDataset> data = MakeSyntheticDataset({.size = 203,
                                                            .channels = 3,
                                                            .height = 16,
                                                            .width = 16,
                                                            .num_classes = 10,
                                                            .random_phase = true,
                                                            .seed = 2});
  ASSERT_THAT(data, IsOk());
  BatchLoaderOptions options;
  options.batch_size = 8;
  options.augment = true;
  options.seed = 99;
  options.num_workers = 1;
  options.prefetch_batches = 1;
  std::unique_ptr<BatchLoader> one = MakeLoader(*data, options);
  options.num_workers = 3;
  options.prefetch_batches = 5;
  std::unique_ptr<BatchLoader> three = MakeLoader(*data, options);
  options.num_workers = 0;
  std::unique_ptr<BatchLoader> inline_loader = MakeLoader(*data, options);
  ASSERT_NE(one, nullptr);
  ASSERT_NE(three, nullptr);
  ASSERT_NE(inline_loader, nullptr);
  for (int epoch : {0, 1}) {
    SCOPED_TRACE(epoch);
    const std::vector<Batch> reference = Epoch(*one, epoch);
    EXPECT_EQ(reference.size(), 26u);
    ExpectSameBatches(reference, Epoch(*three, epoch));
    ExpectSameBatches(reference, Epoch(*inline_loader, epoch));
  }
  // Augmentation really happened: the training batches differ from evaluation ones.
  options.augment = false;
  std::unique_ptr<BatchLoader> eval = MakeLoader(*data, options);
  ASSERT_NE(eval, nullptr);
  EXPECT_NE(Epoch(*eval, 0)[0].images, Epoch(*one, 0)[0].images);
}

TEST(BatchLoaderTest, EvaluationBatchesAreNormalisedImages) {
  const ImageDataset data{.size = 2,
                          .channels = 3,
                          .height = 1,
                          .width = 1,
                          .num_classes = 2,
                          .pixels = {0, 128, 255, 255, 255, 255},
                          .labels = {1, 0}};
  BatchLoaderOptions options;
  options.shuffle = false;
  options.augment_options.crop_padding = 0;
  std::unique_ptr<BatchLoader> loader = MakeLoader(data, options);
  ASSERT_NE(loader, nullptr);
  const std::vector<Batch> batches = Epoch(*loader, 0);
  ASSERT_EQ(batches.size(), 1u);
  // CIFAR-10 goldens as in augment_test.cc.
  EXPECT_THAT(batches[0].images,
              ::testing::Pointwise(::testing::FloatNear(1e-5),
                                   std::vector<float>{-1.989474f, 0.081153f, 2.115826f, 2.059109f,
                                                      2.126489f, 2.115826f}));
  EXPECT_THAT(batches[0].labels, ElementsAre(1, 0));
}

TEST(BatchLoaderTest, NextBeforeStartAfterEndAndRestartMidEpoch) {
  const ImageDataset data = Numbered(50);
  BatchLoaderOptions options = NumberedOptions();
  options.batch_size = 5;
  options.num_workers = 3;
  options.prefetch_batches = 2;
  std::unique_ptr<BatchLoader> loader = MakeLoader(data, options);
  ASSERT_NE(loader, nullptr);
  EXPECT_EQ(loader->Next(), std::nullopt);
  ASSERT_THAT(loader->StartEpoch(0), IsOk());
  ASSERT_TRUE(loader->Next().has_value());
  ASSERT_TRUE(loader->Next().has_value());
  // Abandon epoch 0 two batches in; epoch 1 starts from its first batch.
  std::vector<Batch> restarted = Epoch(*loader, 1);
  EXPECT_EQ(restarted.front().index, 0);
  std::unique_ptr<BatchLoader> fresh = MakeLoader(data, options);
  ASSERT_NE(fresh, nullptr);
  ExpectSameBatches(restarted, Epoch(*fresh, 1));
  EXPECT_EQ(loader->Next(), std::nullopt);
  EXPECT_EQ(loader->Next(), std::nullopt);
}

TEST(BatchLoaderTest, DestroyingMidEpochJoinsTheWorkers) {
  absl::StatusOr<ImageDataset> data =
      MakeSyntheticDataset({.size = 256, .channels = 3, .height = 32, .width = 32, .seed = 3});
  ASSERT_THAT(data, IsOk());
  BatchLoaderOptions options;
  options.batch_size = 4;
  options.augment = true;
  options.num_workers = 3;
  for (int round = 0; round < 5; ++round) {
    std::unique_ptr<BatchLoader> loader = MakeLoader(*data, options);
    ASSERT_NE(loader, nullptr);
    ASSERT_THAT(loader->StartEpoch(round), IsOk());
    if (round % 2 == 1) {
      ASSERT_TRUE(loader->Next().has_value());
    }
  }  // each loader is destroyed with workers busy or waiting
  std::unique_ptr<BatchLoader> never_started = MakeLoader(*data, options);
  EXPECT_NE(never_started, nullptr);
}

TEST(BatchLoaderTest, EmptyDatasetHasNoBatches) {
  const ImageDataset data = Numbered(0);
  std::unique_ptr<BatchLoader> loader = MakeLoader(data, NumberedOptions());
  ASSERT_NE(loader, nullptr);
  EXPECT_EQ(loader->num_batches(), 0);
  EXPECT_TRUE(Epoch(*loader, 0).empty());
}

TEST(BatchLoaderTest, BadArgumentsAreErrorsNamingTheCulprit) {
  const ImageDataset data = Numbered(10);
  const auto with = [](auto change) {
    BatchLoaderOptions options = NumberedOptions();
    change(options);
    return options;
  };
  EXPECT_THAT(BatchLoader::Create(nullptr, NumberedOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("null")));
  EXPECT_THAT(BatchLoader::Create(&data, with([](auto& o) { o.batch_size = 0; })),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("batch_size 0")));
  EXPECT_THAT(BatchLoader::Create(&data, with([](auto& o) { o.num_workers = -1; })),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_workers -1")));
  EXPECT_THAT(BatchLoader::Create(&data, with([](auto& o) { o.prefetch_batches = 0; })),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("prefetch_batches 0")));
  // CIFAR-10 normalisation (3 channels) on 1-channel images.
  EXPECT_THAT(BatchLoader::Create(&data, with([](auto& o) {
                o.augment_options.mean = {0.5f, 0.5f, 0.5f};
              })),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3 means")));
  ImageDataset broken = data;
  broken.pixels.pop_back();
  EXPECT_THAT(BatchLoader::Create(&broken, NumberedOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pixel bytes")));
  std::unique_ptr<BatchLoader> loader = MakeLoader(data, NumberedOptions());
  ASSERT_NE(loader, nullptr);
  EXPECT_THAT(loader->StartEpoch(-1),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("epoch -1")));
}

}  // namespace
}  // namespace edgecompress::training
