// The TREND column of `echomon query`: a one-line sparkline of (time, value) points.
// Pure function; thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace echomon::cli {

// At most 40 cells over [start, end] (seconds), one per ceil((end - start) / step) bucket; each
// cell is the mean of the finite values placed in it, drawn as ▁..█ between the lowest and
// highest cell, blank without data. Any input is safe: step <= 0, end <= start or non-finite
// bounds give one cell, non-finite values are ignored.
std::string Sparkline(const std::vector<std::pair<double, double>>& points, double start,
                      double end, double step);

}  // namespace echomon::cli
