#include "discover/network.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "discover/fixture.h"

namespace ferry::discover_internal {
namespace {

using ::testing::HasSubstr;

TEST(NetworkTest, DecodesProcfsAddresses) {
  // The kernel prints the network-order address as a native (little-endian) integer.
  EXPECT_EQ(ProcHexToIpv4("0100007F"), "127.0.0.1");
  EXPECT_EQ(ProcHexToIpv4("0A00000A"), "10.0.0.10");
  EXPECT_EQ(ProcHexToIpv4("00000000"), "0.0.0.0");
  EXPECT_EQ(ProcHexToIpv4("0100007"), "");
  // tcp6: four native words. ::1 and the v4-mapped ::ffff:127.0.0.1.
  EXPECT_EQ(ProcHexToIpv6("00000000000000000000000001000000", /*words=*/true), "::1");
  EXPECT_EQ(ProcHexToIpv6("0000000000000000FFFF00000100007F", /*words=*/true), "::ffff:127.0.0.1");
  // if_inet6 and ipv6_route: the bytes in order.
  EXPECT_EQ(ProcHexToIpv6("00000000000000000000000000000001", /*words=*/false), "::1");
  EXPECT_EQ(ProcHexToIpv6("fe80000000000000505400fffe123456", /*words=*/false),
            "fe80::5054:ff:fe12:3456");
}

TEST(NetworkTest, ParsesIpv4Routes) {
  Json routes = ParseIpv4Routes(
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
      "eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
      "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0]["destination"], "0.0.0.0");
  EXPECT_EQ(routes[0]["prefix_length"], 0);
  EXPECT_EQ(routes[0]["gateway"], "192.0.2.1");
  EXPECT_EQ(routes[0]["metric"], 100);
  EXPECT_EQ(routes[0]["flags"], Json::array({"up", "gateway"}));
  EXPECT_EQ(routes[1]["destination"], "192.0.2.0");
  EXPECT_EQ(routes[1]["prefix_length"], 24);
  EXPECT_TRUE(routes[1]["gateway"].is_null());
}

TEST(NetworkTest, ParsesIpv6RoutesWithoutTheLocalTable) {
  Json routes = ParseIpv6Routes(
      "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 "
      "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
      "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
      "fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n"
      "fd000000000000000000000000000002 80 00000000000000000000000000000000 00 "
      "00000000000000000000000000000000 00000000 00000003 00000000 80200001     eth0\n"
      "00000000000000000000000000000001 80 00000000000000000000000000000000 00 "
      "00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n");
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0]["destination"], "fd00::");
  EXPECT_EQ(routes[0]["prefix_length"], 64);
  EXPECT_EQ(routes[0]["metric"], 256);
  EXPECT_EQ(routes[1]["destination"], "::");
  EXPECT_EQ(routes[1]["gateway"], "fd00::1");
  EXPECT_EQ(routes[1]["metric"], 1024);
}

TEST(NetworkTest, ParsesResolvConf) {
  Json dns = ParseResolvConf(
      "# comment\nnameserver 10.0.0.2 # trailing\nnameserver 2001:db8::53\ndomain old.example\n"
      "search corp.example.com example.com\noptions ndots:2 rotate\n; also a comment\n");
  EXPECT_EQ(dns["nameservers"], Json::array({"10.0.0.2", "2001:db8::53"}));
  EXPECT_EQ(dns["search"], Json::array({"corp.example.com", "example.com"}));  // the last wins
  EXPECT_EQ(dns["options"], Json::array({"ndots:2", "rotate"}));
}

TEST(NetworkTest, CollectsTheSampleHostAndSaysIpv4AddressesWereUnseen) {
  discover_testing::FixtureRoot fixture;
  discover_testing::WriteSampleHost(fixture);
  UnseenLog unseen;
  Json network = CollectNetwork(HostRoot(fixture.path()), &unseen);
  ASSERT_EQ(network["interfaces"].size(), 2u);
  const Json& eth0 = network["interfaces"][0];
  EXPECT_EQ(eth0["name"], "eth0");
  EXPECT_EQ(eth0["mac"], "52:54:00:12:34:56");
  EXPECT_EQ(eth0["mtu"], 1500);
  EXPECT_EQ(eth0["state"], "up");
  EXPECT_EQ(eth0["speed_mbps"], 10000);
  ASSERT_EQ(eth0["addresses"].size(), 1u);
  EXPECT_EQ(eth0["addresses"][0]["address"], "fe80::5054:ff:fe12:3456");
  EXPECT_EQ(eth0["addresses"][0]["prefix_length"], 64);
  EXPECT_EQ(eth0["addresses"][0]["scope"], "link");
  EXPECT_EQ(network["interfaces"][1]["addresses"][0]["address"], "::1");
  EXPECT_TRUE(network["interfaces"][1]["speed_mbps"].is_null());
  ASSERT_EQ(network["routes"].size(), 3u);  // two IPv4, one IPv6 (lo's left out)
  EXPECT_EQ(network["routes"][0]["gateway"], "10.0.0.1");
  EXPECT_EQ(network["routes"][1]["destination"], "10.0.0.0");
  EXPECT_EQ(network["dns"]["nameservers"], Json::array({"10.0.0.2", "10.0.0.3"}));
  ASSERT_NE(unseen.Find("IPv4 addresses of interfaces"), nullptr);
  EXPECT_THAT(unseen.Find("IPv4 addresses of interfaces")->why, HasSubstr("getifaddrs"));
}

TEST(NetworkTest, SystemdResolvedStubPointsAtTheUpstreamServers) {
  discover_testing::FixtureRoot fixture;
  fixture.Write("/etc/resolv.conf", "nameserver 127.0.0.53\noptions edns0 trust-ad\n");
  fixture.Write("/run/systemd/resolve/resolv.conf", "nameserver 10.1.1.1\nnameserver 10.1.1.2\n");
  UnseenLog unseen;
  Json network = CollectNetwork(HostRoot(fixture.path()), &unseen);
  EXPECT_EQ(network["dns"]["nameservers"], Json::array({"127.0.0.53"}));
  EXPECT_EQ(network["dns"]["upstream_nameservers"], Json::array({"10.1.1.1", "10.1.1.2"}));
}

TEST(NetworkTest, ThisHostHasALoopbackInterfaceWithAddresses) {
  UnseenLog unseen;
  Json network = CollectNetwork(HostRoot("/"), &unseen);
  bool loopback = false;
  for (const Json& interface : network["interfaces"]) {
    if (interface["name"] != "lo") continue;
    for (const Json& address : interface["addresses"]) {
      loopback = loopback || address["address"] == "127.0.0.1";
    }
  }
  EXPECT_TRUE(loopback) << network.dump(2);
}

}  // namespace
}  // namespace ferry::discover_internal
