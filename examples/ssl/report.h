#pragma once
// Results of the arms over one or more seeds: the printed table (mean ± std
// per arm), results.csv (every seed), summary.csv (mean and std per arm),
// losses.csv, and a PNG chart with error bars (gnuplot, when installed).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "stats.h"
#include "views.h"

namespace ssl {

/// Collects losses and probe results, then writes and prints them.
class Report {
 public:
  explicit Report(std::string out_dir) : dir_(std::move(out_dir)) {}

  /// One training step's loss under `seed`.
  void add_loss(Arm arm, uint64_t seed, int64_t step, double loss) {
    losses_.push_back({arm, seed, step, loss});
  }

  /// One arm's outcome under `seed` (final_loss is NaN for the untrained
  /// arm).
  void add_result(Arm arm, uint64_t seed, double final_loss, double accuracy,
                  double train_s, double probe_s) {
    results_.push_back({arm, seed, final_loss, accuracy, train_s, probe_s});
  }

  /// Prints the table and the comparisons, writes the files; true when
  /// every number is finite.
  bool write_and_print(double total_seconds) const {
    bool finite = true;
    std::ofstream csv(dir_ + "/results.csv");
    csv << "arm,seed,metric,value,seconds\n";
    for (const Result& r : results_) {
      const bool trained = r.arm != Arm::RandomInit;
      finite = finite && std::isfinite(r.accuracy) &&
               (!trained || std::isfinite(r.final_loss));
      if (trained)
        csv << arm_key(r.arm) << "," << r.seed << ",final_loss," << r.final_loss
            << "," << r.train_s << "\n";
      csv << arm_key(r.arm) << "," << r.seed << ",probe_accuracy," << r.accuracy
          << "," << r.probe_s << "\n";
    }
    csv.close();
    for (const Loss& l : losses_) finite = finite && std::isfinite(l.loss);

    const std::vector<Summary> summaries = summarize();
    const int seeds = summaries.empty() ? 0 : summaries[0].accuracy.n;
    std::printf(
        "\n| arm | final NT-Xent loss | linear probe accuracy (%%) | seconds "
        "per seed |\n|---|---|---|---|\n");
    std::ofstream summary(dir_ + "/summary.csv");
    summary << "arm,metric,mean,std,seeds\n";
    std::ofstream acc(dir_ + "/accuracy.dat");
    for (const Summary& s : summaries) {
      const bool trained = s.arm != Arm::RandomInit;
      std::printf("| %s | %s | %s | %.0f |\n", arm_name(s.arm).c_str(),
                  trained ? format_spread(s.loss, 1, "%.4f").c_str() : "—",
                  format_spread(s.accuracy, 100, "%.2f").c_str(), s.seconds);
      if (trained)
        summary << arm_key(s.arm) << ",final_loss," << s.loss.mean << ","
                << s.loss.std << "," << s.loss.n << "\n";
      summary << arm_key(s.arm) << ",probe_accuracy," << s.accuracy.mean << ","
              << s.accuracy.std << "," << s.accuracy.n << "\n";
      acc << '"' << arm_name(s.arm) << "\" " << 100 * s.accuracy.mean << " "
          << 100 * s.accuracy.std << "\n";
    }
    summary.close();
    acc.close();
    if (seeds > 1) print_comparisons(summaries);
    write_mean_losses();

    std::printf("\ntotal %.0f s; %s\n", total_seconds,
                finite ? "all arms finite" : "NON-FINITE loss or accuracy");
    std::printf(
        "results: %s/results.csv (every seed), %s/summary.csv (mean, std), "
        "loss curves: %s/losses.csv\n",
        dir_.c_str(), dir_.c_str(), dir_.c_str());
    chart(summaries, seeds);
    return finite;
  }

 private:
  struct Loss {
    Arm arm;
    uint64_t seed;
    int64_t step;
    double loss;
  };
  struct Result {
    Arm arm;
    uint64_t seed;
    double final_loss, accuracy, train_s, probe_s;
  };
  struct Summary {
    Arm arm;
    Spread loss, accuracy;
    double seconds;  // mean per seed, training and probe
  };

  /// One summary per arm, in the order the arms first ran.
  std::vector<Summary> summarize() const {
    std::vector<Arm> order;
    std::map<Arm, std::vector<const Result*>> by_arm;
    for (const Result& r : results_) {
      if (!by_arm.count(r.arm)) order.push_back(r.arm);
      by_arm[r.arm].push_back(&r);
    }
    std::vector<Summary> out;
    for (Arm arm : order) {
      std::vector<double> loss, accuracy;
      double seconds = 0;
      for (const Result* r : by_arm[arm]) {
        loss.push_back(r->final_loss);
        accuracy.push_back(r->accuracy);
        seconds += r->train_s + r->probe_s;
      }
      out.push_back(
          {arm, spread(loss), spread(accuracy), seconds / by_arm[arm].size()});
    }
    return out;
  }

  /// Each arm against the untrained floor and the other arms: does the
  /// difference of mean accuracies exceed the spread over seeds?
  static void print_comparisons(const std::vector<Summary>& summaries) {
    std::printf(
        "\nDifferences of mean probe accuracy (points); \"exceeds\" means "
        "larger than the two arms' standard deviations added (mean ± std "
        "intervals apart):\n");
    for (size_t i = 0; i < summaries.size(); ++i) {
      for (size_t j = i + 1; j < summaries.size(); ++j) {
        const Summary &a = summaries[i], &b = summaries[j];
        std::printf(
            "  %-28s vs %-28s %+6.2f  %s\n", arm_name(b.arm).c_str(),
            arm_name(a.arm).c_str(), 100 * (b.accuracy.mean - a.accuracy.mean),
            exceeds_spread(a.accuracy, b.accuracy) ? "exceeds the spread"
                                                   : "within the spread");
      }
    }
  }

  /// losses.csv: every seed's curve, and losses_mean.csv: their mean.
  void write_mean_losses() const {
    std::ofstream curves(dir_ + "/losses.csv");
    curves << "arm,seed,step,loss\n";
    std::map<std::pair<Arm, int64_t>, std::vector<double>> by_step;
    for (const Loss& l : losses_) {
      curves << arm_key(l.arm) << "," << l.seed << "," << l.step << ","
             << l.loss << "\n";
      by_step[{l.arm, l.step}].push_back(l.loss);
    }
    std::ofstream mean(dir_ + "/losses_mean.csv");
    mean << "arm,step,loss\n";
    for (const auto& [key, values] : by_step)
      mean << arm_key(key.first) << "," << key.second << ","
           << spread(values).mean << "\n";
  }

  /// Loss curves (left, mean over seeds) and probe accuracies with their
  /// standard deviation as error bars (right) in chart.png.
  void chart(const std::vector<Summary>& summaries, int seeds) const {
    const std::string script = dir_ + "/chart.gp";
    std::ofstream gp(script);
    gp << "set terminal pngcairo size 1100,420 font ',10'\n"
       << "set output '" << dir_ << "/chart.png'\nset datafile separator ','\n"
       << "set multiplot layout 1,2\nset title 'NT-Xent loss per step"
       << (seeds > 1 ? " (mean of " + std::to_string(seeds) + " seeds)" : "")
       << "'\nset xlabel 'step'\nset key top right\nplot ";
    // The accuracy axis spans the bars' range (differences are a few
    // points; a 0–100 axis would hide the error bars).
    double lo = 100, hi = 0;
    for (const Summary& s : summaries) {
      lo = std::min(lo, 100 * (s.accuracy.mean - s.accuracy.std));
      hi = std::max(hi, 100 * (s.accuracy.mean + s.accuracy.std));
    }
    lo = std::max(0.0, std::floor(lo - 5));
    hi = std::min(100.0, std::ceil(hi + 3));
    bool first = true;
    for (const Summary& s : summaries) {
      if (s.arm == Arm::RandomInit) continue;
      gp << (first ? "" : ", ") << "'" << dir_
         << "/losses_mean.csv' using (strcol(1) eq '" << arm_key(s.arm)
         << "' ? $2 : 1/0):3 with lines title '" << arm_name(s.arm) << "'";
      first = false;
    }
    gp << "\nset datafile separator whitespace\nset title 'linear probe "
          "accuracy (%)"
       << (seeds > 1 ? ", mean ± std over " + std::to_string(seeds) + " seeds"
                     : "")
       << "'\nunset xlabel\nset style fill solid 0.6\nset boxwidth 0.6\n"
       << "set yrange [" << lo << ":" << hi
       << "]\nset xrange [-0.7:" << summaries.size() - 0.3
       << "]\nset xtics rotate by -20\nunset key\n"
       << "set bars 2\nplot '" << dir_
       << "/accuracy.dat' using 0:2:3:xtic(1) with boxerrorbars, '' using "
          "0:($2+$3+0.02*("
       << hi - lo << ")):(sprintf('"
       << (seeds > 1 ? "%.1f±%.1f',$2,$3" : "%.1f',$2")
       << ")) with labels offset 0,0.5\nunset multiplot\n";
    gp.close();
    if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) {
      std::printf(
          "chart: gnuplot not installed (apt-get install gnuplot-nox); script "
          "at %s\n",
          script.c_str());
      return;
    }
    const std::string cmd = "gnuplot '" + script + "'";
    if (std::system(cmd.c_str()) == 0) {
      std::printf("chart: %s/chart.png\n", dir_.c_str());
    } else {
      std::printf("chart: gnuplot failed on %s\n", script.c_str());
    }
  }

  std::string dir_;
  std::vector<Loss> losses_;
  std::vector<Result> results_;
};

}  // namespace ssl
