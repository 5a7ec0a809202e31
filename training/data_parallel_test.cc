#include "training/data_parallel.h"

#include <ATen/Parallel.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <torch/serialize.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"
#include "training/batch_source.h"
#include "training/data/batch_loader.h"
#include "training/data/image_dataset.h"
#include "training/data_parallel_test_data.h"
#include "training/models/lenet.h"

extern char** environ;

namespace edgecompress::training {
namespace {

using ::testing::HasSubstr;

// A port the kernel says is free now (a small race with other processes is
// acceptable in a test).
int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

pid_t Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  return posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0 ? pid : -1;
}

// Exit code of `pid`, or -1 after killing it when it runs past `timeout`.
int WaitFor(pid_t pid, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The test: 2 processes on loopback, each with half of every global
// batch of 32, end with the weights of one process training on batches of 32.
TEST(DataParallelTest, TwoProcessesMatchOneProcessWithTheSameGlobalBatch) {
  at::set_num_threads(1);
  const TensorDataset data = DataParallelTestData();
  torch::manual_seed(100);  // rank 0's initialisation, which the workers broadcast
  LeNet5 single;
  absl::StatusOr<std::unique_ptr<Trainer>> trainer = Trainer::Create(single, DataParallelTestOptions());
  ASSERT_THAT(trainer, IsOk());
  InMemoryBatchSource batches(data, kDataParallelTestGlobalBatch, kDataParallelTestSeed);
  ProgressBar progress(stderr, false);
  ASSERT_THAT((*trainer)->Fit(batches, nullptr, {}, nullptr, progress), IsOk());

  const std::string worker =
      absl::StrCat(std::getenv("TEST_SRCDIR"), "/edgecompress/training/data_parallel_test_worker");
  const std::string dir = std::getenv("TEST_TMPDIR");
  const std::string port = std::to_string(FreeLoopbackPort());
  const pid_t rank0 = Spawn({worker, "0", "2", port, dir + "/rank0.pt"});
  const pid_t rank1 = Spawn({worker, "1", "2", port, dir + "/rank1.pt"});
  ASSERT_GT(rank0, 0);
  ASSERT_GT(rank1, 0);
  EXPECT_EQ(WaitFor(rank0, std::chrono::seconds(120)), 0);
  EXPECT_EQ(WaitFor(rank1, std::chrono::seconds(120)), 0);

  std::vector<torch::Tensor> from_rank0, from_rank1;
  torch::load(from_rank0, dir + "/rank0.pt");
  torch::load(from_rank1, dir + "/rank1.pt");
  const std::vector<torch::Tensor> expected = single.parameters();
  ASSERT_EQ(from_rank0.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(torch::equal(from_rank0[i], from_rank1[i]));  // replicas agree exactly
    // Float summation order differs from the single process's.
    EXPECT_LT((from_rank0[i] - expected[i]).abs().max().item<float>(), 1e-5f);
  }
}

TEST(DataParallelTest, RendezvousWithNoServerFailsWithinTheTimeout) {
  LeNet5 model;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(GradientAllReduce::Create(model, {.world_size = 2, .rank = 1,
                                                .master_port = FreeLoopbackPort(),
                                                .timeout = std::chrono::seconds(2)}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("as rank 1 failed")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

// Augmented data-parallel batches: every rank runs the same augmenting
// loader over the same global batches and keeps its slice, so the slices of
// ranks 0 and 1 side by side are exactly the single process's batch, and
// the incomplete last global batch (43 = 5 * 8 + 3) is dropped.
TEST(DataParallelTest, ShardsAnAugmentingLoaderExactly) {
  ImageDataset images;
  images.size = 43;
  images.channels = 3;
  images.height = images.width = 8;
  images.num_classes = 10;
  for (int64_t i = 0; i < images.size * images.image_bytes(); ++i) {
    images.pixels.push_back(static_cast<uint8_t>((i * 37) % 251));
  }
  for (int64_t i = 0; i < images.size; ++i) images.labels.push_back(static_cast<uint8_t>(i % 10));
  const BatchLoaderOptions options{.batch_size = 8, .drop_last = true, .augment = true,
                                   .augment_options = {.crop_padding = 2}, .num_workers = 1,
                                   .seed = 5};
  auto loader = [&] {
    absl::StatusOr<std::unique_ptr<BatchLoader>> made = BatchLoader::Create(&images, options);
    EXPECT_THAT(made, IsOk());
    return std::make_unique<LoaderBatchSource>(*std::move(made));
  };
  std::unique_ptr<LoaderBatchSource> single = loader();
  std::vector<std::unique_ptr<ShardedBatchSource>> ranks;
  for (int rank = 0; rank < 2; ++rank) {
    absl::StatusOr<std::unique_ptr<ShardedBatchSource>> sharded =
        ShardBatchSource(loader(), images.size, 8, rank, 2);
    ASSERT_THAT(sharded, IsOk());
    EXPECT_EQ((*sharded)->batches_per_epoch(), 5);
    ranks.push_back(*std::move(sharded));
  }
  for (int epoch : {0, 1}) {
    ASSERT_THAT(single->StartEpoch(epoch), IsOk());
    for (auto& rank : ranks) ASSERT_THAT(rank->StartEpoch(epoch), IsOk());
    for (int b = 0; b < 5; ++b) {
      const std::optional<TensorBatch> whole = single->Next();
      const std::optional<TensorBatch> first = ranks[0]->Next();
      const std::optional<TensorBatch> second = ranks[1]->Next();
      ASSERT_TRUE(whole && first && second) << "epoch " << epoch << " batch " << b;
      EXPECT_TRUE(torch::equal(torch::cat({first->images, second->images}), whole->images));
      EXPECT_TRUE(torch::equal(torch::cat({first->labels, second->labels}), whole->labels));
    }
    EXPECT_FALSE(ranks[0]->Next().has_value());
  }
}

TEST(DataParallelTest, RejectsBadOptions) {
  LeNet5 model;
  EXPECT_THAT(GradientAllReduce::Create(model, {.world_size = 2, .rank = 2}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  const TensorDataset data = DataParallelTestData();
  EXPECT_THAT(MakeShardedBatchSource(data, 33, 1, 0, 2),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not split evenly")));
}

}  // namespace
}  // namespace edgecompress::training
