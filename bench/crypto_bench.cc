// Operations per second of ferry's post-quantum and classical primitives, one thread. The
// anchor, `openssl speed` for X25519 and Ed25519 on the same machine, runs beside it in
// bench/crypto_bench.sh; BENCHMARKS.md has the figures.
#include <benchmark/benchmark.h>

#include "crypto/classical.h"
#include "crypto/pq.h"
#include "crypto/xwing.h"

namespace ferry::crypto {
namespace {

const Bytes kMessage(64, 0x42);

void BM_MlKemKeyGen(benchmark::State& state) {
  const MlKem kem(static_cast<MlKemLevel>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(kem.GenerateKeyPair().value());
  state.SetLabel(kem.name());
}
void BM_MlKemEncaps(benchmark::State& state) {
  const MlKem kem(static_cast<MlKemLevel>(state.range(0)));
  const KemKeyPair kp = kem.GenerateKeyPair().value();
  for (auto _ : state) benchmark::DoNotOptimize(kem.Encapsulate(kp.public_key).value());
  state.SetLabel(kem.name());
}
void BM_MlKemDecaps(benchmark::State& state) {
  const MlKem kem(static_cast<MlKemLevel>(state.range(0)));
  const KemKeyPair kp = kem.GenerateKeyPair().value();
  const Encapsulation e = kem.Encapsulate(kp.public_key).value();
  for (auto _ : state)
    benchmark::DoNotOptimize(kem.Decapsulate(kp.secret_key, e.ciphertext).value());
  state.SetLabel(kem.name());
}
BENCHMARK(BM_MlKemKeyGen)
    ->Arg(static_cast<int>(MlKemLevel::k768))
    ->Arg(static_cast<int>(MlKemLevel::k1024));
BENCHMARK(BM_MlKemEncaps)
    ->Arg(static_cast<int>(MlKemLevel::k768))
    ->Arg(static_cast<int>(MlKemLevel::k1024));
BENCHMARK(BM_MlKemDecaps)
    ->Arg(static_cast<int>(MlKemLevel::k768))
    ->Arg(static_cast<int>(MlKemLevel::k1024));

void BM_MlDsaKeyGen(benchmark::State& state) {
  const MlDsa dsa(static_cast<MlDsaLevel>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(dsa.GenerateKeyPair().value());
  state.SetLabel(dsa.name());
}
void BM_MlDsaSign(benchmark::State& state) {
  const MlDsa dsa(static_cast<MlDsaLevel>(state.range(0)));
  const SignatureKeyPair kp = dsa.GenerateKeyPair().value();
  for (auto _ : state) benchmark::DoNotOptimize(dsa.Sign(kp.secret_key, kMessage).value());
  state.SetLabel(dsa.name());
}
void BM_MlDsaVerify(benchmark::State& state) {
  const MlDsa dsa(static_cast<MlDsaLevel>(state.range(0)));
  const SignatureKeyPair kp = dsa.GenerateKeyPair().value();
  const Bytes sig = dsa.Sign(kp.secret_key, kMessage).value();
  for (auto _ : state) benchmark::DoNotOptimize(dsa.Verify(kp.public_key, kMessage, sig));
  state.SetLabel(dsa.name());
}
BENCHMARK(BM_MlDsaKeyGen)
    ->Arg(static_cast<int>(MlDsaLevel::k65))
    ->Arg(static_cast<int>(MlDsaLevel::k87));
BENCHMARK(BM_MlDsaSign)
    ->Arg(static_cast<int>(MlDsaLevel::k65))
    ->Arg(static_cast<int>(MlDsaLevel::k87));
BENCHMARK(BM_MlDsaVerify)
    ->Arg(static_cast<int>(MlDsaLevel::k65))
    ->Arg(static_cast<int>(MlDsaLevel::k87));

void BM_XWingEncaps(benchmark::State& state) {
  const KemKeyPair kp = XWing::GenerateKeyPair().value();
  for (auto _ : state) benchmark::DoNotOptimize(XWing::Encapsulate(kp.public_key).value());
}
void BM_XWingDecaps(benchmark::State& state) {
  const KemKeyPair kp = XWing::GenerateKeyPair().value();
  const Encapsulation e = XWing::Encapsulate(kp.public_key).value();
  for (auto _ : state)
    benchmark::DoNotOptimize(XWing::Decapsulate(kp.secret_key, e.ciphertext).value());
}
BENCHMARK(BM_XWingEncaps);
BENCHMARK(BM_XWingDecaps);

// ferry's own X25519 and Ed25519 (OpenSSL through EVP, with ferry's key handling around it),
// to compare with `openssl speed`, which measures OpenSSL alone.
void BM_X25519Derive(benchmark::State& state) {
  const X25519KeyPair a = X25519Generate().value(), b = X25519Generate().value();
  for (auto _ : state) benchmark::DoNotOptimize(X25519(a.private_key, b.public_key).value());
}
void BM_Ed25519Sign(benchmark::State& state) {
  const Ed25519KeyPair k = Ed25519Generate().value();
  for (auto _ : state) benchmark::DoNotOptimize(Ed25519Sign(k.private_key, kMessage).value());
}
void BM_Ed25519Verify(benchmark::State& state) {
  const Ed25519KeyPair k = Ed25519Generate().value();
  const Bytes sig = Ed25519Sign(k.private_key, kMessage).value();
  for (auto _ : state) benchmark::DoNotOptimize(Ed25519Verify(k.public_key, kMessage, sig));
}
BENCHMARK(BM_X25519Derive);
BENCHMARK(BM_Ed25519Sign);
BENCHMARK(BM_Ed25519Verify);

void BM_AesGcmSeal16K(benchmark::State& state) {
  const Bytes key(32, 1), iv(12, 2), data(16384, 3);
  for (auto _ : state) benchmark::DoNotOptimize(AesGcmSeal(key, iv, {}, data).value());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(data.size()));
}
BENCHMARK(BM_AesGcmSeal16K);

}  // namespace
}  // namespace ferry::crypto

BENCHMARK_MAIN();
