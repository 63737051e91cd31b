#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/io.h"
#include "base/mapping.h"
#include "base/unique_fd.h"

namespace ftvm {
namespace {

bool FdIsOpen(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

TEST(UniqueFdTest, ClosesOnDestructionAndMove) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    UniqueFd a(fds[0]);
    UniqueFd b(fds[1]);
    UniqueFd c = std::move(a);
    EXPECT_FALSE(a.valid());
    EXPECT_TRUE(FdIsOpen(fds[0]));
    c = std::move(b);  // closes fds[0]
    EXPECT_FALSE(FdIsOpen(fds[0]));
    EXPECT_TRUE(FdIsOpen(fds[1]));
  }
  EXPECT_FALSE(FdIsOpen(fds[1]));
}

TEST(UniqueFdTest, ReleaseKeepsOpen) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  UniqueFd a(fds[0]);
  UniqueFd b(fds[1]);
  const int raw = a.Release();
  a.Reset();
  EXPECT_TRUE(FdIsOpen(raw));
  ::close(raw);
}

TEST(MappingTest, AnonymousIsZeroedAndUnmapped) {
  auto m = Mapping::Anonymous(1 << 20);
  ASSERT_TRUE(m) << m.error().ToString();
  EXPECT_EQ(m->size(), 1u << 20);
  EXPECT_EQ(m->data()[12345], std::byte{0});
  m->data()[0] = std::byte{7};
  Mapping moved = std::move(*m);
  EXPECT_FALSE(m->valid());
  EXPECT_EQ(moved.data()[0], std::byte{7});
  void* addr = moved.data();
  moved.Reset();
  unsigned char vec = 0;
  EXPECT_EQ(::mincore(addr, 4096, &vec), -1);  // unmapped: ENOMEM
  EXPECT_EQ(errno, ENOMEM);
}

TEST(MappingTest, ZeroSizeIsAnError) { EXPECT_FALSE(Mapping::Anonymous(0)); }

TEST(IoTest, ReadExactReportsShortStreamAsPeerLost) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  UniqueFd r(fds[0]);
  UniqueFd w(fds[1]);
  const std::byte data[3] = {std::byte{1}, std::byte{2}, std::byte{3}};
  ASSERT_TRUE(WriteAll(w.get(), data));
  w.Reset();
  std::byte out[4];
  auto res = ReadExact(r.get(), out);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::kPeerLost);
}

TEST(IoTest, ReadExactTimesOut) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  UniqueFd r(fds[0]);
  UniqueFd w(fds[1]);
  ASSERT_TRUE(SetNonBlocking(r.get(), true));
  std::byte out[1];
  auto res = ReadExact(r.get(), out, Deadline(std::chrono::milliseconds(20)));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code(), ErrorCode::kTimeout);
}

TEST(IoTest, ConsumeIovecsSkipsWholeEntriesAndTrimsAPartialOne) {
  char a[4], b[1], c[8];
  iovec iov[3] = {{a, sizeof(a)}, {b, 0}, {c, sizeof(c)}};
  size_t first = 0;
  ConsumeIovecs(iov, &first, 3);
  EXPECT_EQ(first, 0u);
  EXPECT_EQ(iov[0].iov_base, a + 3);
  EXPECT_EQ(iov[0].iov_len, 1u);
  ConsumeIovecs(iov, &first, 1 + 5);  // the rest of a, the empty b, 5 bytes of c
  EXPECT_EQ(first, 2u);
  EXPECT_EQ(iov[2].iov_base, c + 5);
  EXPECT_EQ(iov[2].iov_len, 3u);
  ConsumeIovecs(iov, &first, 3);
  EXPECT_EQ(first, 3u);
}

}  // namespace
}  // namespace ftvm
