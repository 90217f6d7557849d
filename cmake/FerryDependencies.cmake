# Every third-party dependency, in one place. The Debian package that provides each one, and
# the version we build against, is listed in scripts/debian-packages.txt (./setup.sh
# installs exactly that list).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(fmt 9 REQUIRED)                   # libfmt-dev 9.1
find_package(nlohmann_json 3.11 REQUIRED)      # nlohmann-json3-dev 3.11
find_package(yaml-cpp 0.7 REQUIRED)            # libyaml-cpp-dev 0.7
find_package(SQLite3 3.40 REQUIRED)            # libsqlite3-dev 3.40
find_package(PostgreSQL 15 REQUIRED)           # libpq-dev 15
find_package(OpenSSL 3 REQUIRED)               # libssl-dev 3.0
find_package(CLI11 2.1 REQUIRED)               # libcli11-dev 2.1
pkg_check_modules(MARIADB REQUIRED IMPORTED_TARGET libmariadb)  # libmariadb-dev 10.11
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash>=0.8)  # libxxhash-dev 0.8: row hashes
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd>=1.5)  # libzstd-dev 1.5: chunks of encrypted exports
pkg_check_modules(P11KIT REQUIRED IMPORTED_TARGET p11-kit-1)  # libp11-kit-dev 0.24: the PKCS#11 header (pkcs11.h)
pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap>=1.10)  # libpcap-dev 1.10: captures for format inference
find_package(ZLIB REQUIRED)                    # zlib1g-dev 1.2: CRC-32 checksums found by format inference
find_package(pugixml 1.13 REQUIRED)            # libpugixml-dev 1.13: SWIFT ISO 20022 XML (pugixml::pugixml)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib>=0.11)  # libcpp-httplib-dev 0.11: HTTP client and server, with OpenSSL
find_package(absl REQUIRED)                    # libabsl-dev 20220623: time zones of transforms (absl::time)
# libcpp-httplib-dev 0.11: the HTTP API (src/server) and its client. Debian ships it compiled,
# with OpenSSL, zlib and brotli: pkg-config gives the definitions its header must see.
find_path(HTTPLIB_INCLUDE_DIR httplib.h REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib>=0.11)
if(FERRY_BUILD_TESTS OR FERRY_BUILD_BENCH)
  find_package(GTest 1.12 REQUIRED)            # libgtest-dev, libgmock-dev 1.12
endif()
if(FERRY_BUILD_BENCH)
  find_package(benchmark 1.7 REQUIRED)         # libbenchmark-dev 1.7
endif()
