// The ISO 8583 codec on messages built here: each encoding, round trips, errors.
#include "legacy/iso8583.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::legacy::iso8583 {
namespace {}  // namespace
}  // namespace ferry::legacy::iso8583
