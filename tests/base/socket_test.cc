#include "base/socket.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "base/io.h"

namespace ftvm {
namespace {

using std::chrono::milliseconds;

TEST(SocketTest, ParseHostPort) {
  auto a = ParseHostPort("127.0.0.1:7000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 7000);
  auto b = ParseHostPort("[::1]:0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->ToString(), "[::1]:0");
  EXPECT_FALSE(ParseHostPort("localhost"));
  EXPECT_FALSE(ParseHostPort("h:70000"));
  EXPECT_FALSE(ParseHostPort("h:x"));
  EXPECT_FALSE(ParseHostPort("[::1]7000"));
}

TEST(SocketTest, ConnectAcceptExchange) {
  auto listener = TcpListen({"127.0.0.1", 0});
  ASSERT_TRUE(listener) << listener.error().ToString();
  auto port = LocalPort(listener->get());
  ASSERT_TRUE(port);
  std::thread client([&] {
    auto fd = TcpConnect({"127.0.0.1", *port}, Deadline(milliseconds(2000)));
    ASSERT_TRUE(fd) << fd.error().ToString();
    const std::byte msg[2] = {std::byte{'h'}, std::byte{'i'}};
    ASSERT_TRUE(WriteAll(fd->get(), msg));
  });
  auto conn = AcceptWithin(listener->get(), Deadline(milliseconds(2000)));
  ASSERT_TRUE(conn) << conn.error().ToString();
  std::byte in[2];
  ASSERT_TRUE(ReadExact(conn->get(), in));
  EXPECT_EQ(in[1], std::byte{'i'});
  client.join();
}

TEST(SocketTest, RefusedConnectionIsPeerLost) {
  auto listener = TcpListen({"127.0.0.1", 0});
  ASSERT_TRUE(listener);
  const uint16_t port = *LocalPort(listener->get());
  listener->Reset();
  auto fd = TcpConnect({"127.0.0.1", port}, Deadline(milliseconds(2000)));
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code(), ErrorCode::kPeerLost);
  EXPECT_EQ(fd.error().sys_errno(), ECONNREFUSED);
}

TEST(SocketTest, AcceptTimesOut) {
  auto listener = TcpListen({"127.0.0.1", 0});
  ASSERT_TRUE(listener);
  auto conn = AcceptWithin(listener->get(), Deadline(milliseconds(10)));
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code(), ErrorCode::kTimeout);
}

TEST(SocketTest, UnixSocketIsCreatedOwnerOnly) {
  const std::string path = "/tmp/ftvm_socket_test_" + std::to_string(::getpid());
  auto listener = UnixListen(path);
  ASSERT_TRUE(listener) << listener.error().ToString();
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto client = UnixConnect(path);
  ASSERT_TRUE(client) << client.error().ToString();
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace ftvm
