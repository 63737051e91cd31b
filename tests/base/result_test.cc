#include "base/result.h"

#include <gtest/gtest.h>

namespace ftvm {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Fail(ErrorCode::kInvalidArgument, "{} is odd", x);
  return x / 2;
}

Result<int> Quarter(int x) {
  FTVM_ASSIGN_OR_RETURN(const int half, Half(x));
  FTVM_ASSIGN_OR_RETURN(const int quarter, Half(half));
  return quarter;
}

Result<void> CheckQuarter(int x) {
  FTVM_TRY_CTX(Quarter(x), "quarter");
  return {};
}

TEST(ResultTest, AssignOrReturnPropagatesFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().context(), "3 is odd");
}

TEST(ResultTest, TryCtxPrefixesContext) {
  auto r = CheckQuarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context(), "quarter: 3 is odd");
  EXPECT_EQ(r.error().ToString(), "quarter: 3 is odd (invalid argument)");
  EXPECT_TRUE(CheckQuarter(4));
}

TEST(ResultTest, SysFailCapturesErrno) {
  errno = ENOENT;
  Result<void> r = SysFail("open {}", "/nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().sys_errno(), ENOENT);
  EXPECT_EQ(r.error().ToString(), "open /nope: No such file or directory");
}

TEST(ResultTest, WrapChains) {
  Error e(ErrorCode::kPeerLost, "read");
  e.Wrap("recv").Wrap("commit");
  EXPECT_EQ(e.context(), "commit: recv: read");
}

}  // namespace
}  // namespace ftvm
