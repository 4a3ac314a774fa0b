#pragma once
// Mean and spread of one arm's results over seeds, and the rule the report
// uses to say whether two arms differ by more than that spread.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace ssl {

/// Mean and sample standard deviation (0 for a single value).
struct Spread {
  double mean = 0, std = 0;
  int n = 0;
};

/// Mean and sample standard deviation of `values`.
inline Spread spread(const std::vector<double>& values) {
  Spread s;
  s.n = static_cast<int>(values.size());
  if (s.n == 0) return s;
  for (double v : values) s.mean += v;
  s.mean /= s.n;
  if (s.n > 1) {
    for (double v : values) s.std += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(s.std / (s.n - 1));
  }
  return s;
}

/// "mean ± std" (or just the mean for one value), scaled by `scale`.
inline std::string format_spread(const Spread& s, double scale,
                                 const char* digits) {
  char buf[64];
  const std::string fmt =
      s.n > 1 ? std::string(digits) + " ± " + digits : std::string(digits);
  std::snprintf(buf, sizeof(buf), fmt.c_str(), scale * s.mean, scale * s.std);
  return buf;
}

/// Whether a and b differ by more than their spread: the difference of the
/// means exceeds the sum of the two standard deviations, so the intervals
/// mean ± std do not overlap. Deliberately conservative for few seeds; it
/// is not a significance test.
inline bool exceeds_spread(const Spread& a, const Spread& b) {
  return std::fabs(a.mean - b.mean) > a.std + b.std;
}

}  // namespace ssl
