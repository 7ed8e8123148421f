#pragma once

namespace echomon {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace echomon
