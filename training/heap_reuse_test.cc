#include "training/heap_reuse.h"

#include <cstdlib>
#include <cstring>

#include "gtest/gtest.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace edgecompress::training {
namespace {

#if defined(__GLIBC__)
TEST(HeapReuseTest, BlocksBelow32MiBComeFromTheHeapAfterTuning) {
  ASSERT_TRUE(KeepFreedBuffersInHeap().ok());
  // An 8 MiB block would be mmapped by default (threshold 128 KiB); after
  // tuning it comes from the heap, which mallinfo2 counts in arena bytes.
  constexpr size_t kBytes = 8 << 20;
  const struct mallinfo2 before = mallinfo2();
  char* block = static_cast<char*>(std::malloc(kBytes));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBytes);
  const struct mallinfo2 during = mallinfo2();
  EXPECT_EQ(during.hblkhd, before.hblkhd) << "no new mmapped block";
  EXPECT_GE(during.uordblks, before.uordblks + kBytes);
  std::free(block);
  // Freed, it stays in the heap for the next allocation of its size.
  EXPECT_GE(mallinfo2().arena, during.uordblks - before.uordblks);
}
#endif

}  // namespace
}  // namespace edgecompress::training
