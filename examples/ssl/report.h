#pragma once
// Results of the arms: the printed table, results.csv, losses.csv and a PNG
// chart (gnuplot, when installed).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "views.h"

namespace ssl {

/// Collects losses and probe results, then writes and prints them.
class Report {
 public:
  explicit Report(std::string out_dir) : dir_(std::move(out_dir)) {}

  /// One training step's loss.
  void add_loss(Arm arm, int64_t step, double loss) {
    losses_.push_back({arm, step, loss});
  }

  /// One arm's outcome (final_loss is NaN for the untrained arm).
  void add_result(Arm arm, double final_loss, double accuracy, double train_s,
                  double probe_s) {
    results_.push_back({arm, final_loss, accuracy, train_s, probe_s});
  }

  /// Prints the table, writes the files; true when every number is finite.
  bool write_and_print(double total_seconds) const {
    bool finite = true;
    std::printf(
        "\n| arm | final NT-Xent loss | linear probe accuracy | seconds "
        "|\n|---|---|---|---|\n");
    std::ofstream csv(dir_ + "/results.csv");
    csv << "arm,metric,value,seconds\n";
    std::ofstream acc(dir_ + "/accuracy.dat");
    for (const Result& r : results_) {
      const bool trained = r.arm != Arm::RandomInit;
      finite = finite && std::isfinite(r.accuracy) &&
               (!trained || std::isfinite(r.final_loss));
      char loss[32] = "—";
      if (trained) std::snprintf(loss, sizeof(loss), "%.4f", r.final_loss);
      std::printf("| %s | %s | %.2f %% | %.0f |\n", arm_name(r.arm).c_str(),
                  loss, 100 * r.accuracy, r.train_s + r.probe_s);
      if (trained)
        csv << arm_key(r.arm) << ",final_loss," << r.final_loss << ","
            << r.train_s << "\n";
      csv << arm_key(r.arm) << ",probe_accuracy," << r.accuracy << ","
          << r.probe_s << "\n";
      acc << '"' << arm_name(r.arm) << "\" " << 100 * r.accuracy << "\n";
    }
    std::ofstream curves(dir_ + "/losses.csv");
    curves << "arm,step,loss\n";
    for (const Loss& l : losses_) {
      finite = finite && std::isfinite(l.loss);
      curves << arm_key(l.arm) << "," << l.step << "," << l.loss << "\n";
    }
    curves.close();
    acc.close();
    csv.close();
    std::printf("\ntotal %.0f s; %s\n", total_seconds,
                finite ? "all arms finite" : "NON-FINITE loss or accuracy");
    std::printf("results: %s/results.csv, loss curves: %s/losses.csv\n",
                dir_.c_str(), dir_.c_str());
    chart();
    return finite;
  }

 private:
  struct Loss {
    Arm arm;
    int64_t step;
    double loss;
  };
  struct Result {
    Arm arm;
    double final_loss, accuracy, train_s, probe_s;
  };

  /// Loss curves (left) and probe accuracies (right) in chart.png.
  void chart() const {
    const std::string script = dir_ + "/chart.gp";
    std::ofstream gp(script);
    gp << "set terminal pngcairo size 1100,420 font ',10'\n"
       << "set output '" << dir_ << "/chart.png'\nset datafile separator ','\n"
       << "set multiplot layout 1,2\nset title 'NT-Xent loss per step'\nset "
          "xlabel 'step'\n"
       << "set key top right\nplot ";
    bool first = true;
    for (const Result& r : results_) {
      if (r.arm == Arm::RandomInit) continue;
      gp << (first ? "" : ", ") << "'" << dir_
         << "/losses.csv' using (strcol(1) eq '" << arm_key(r.arm)
         << "' ? $2 : 1/0):3 with lines title '" << arm_name(r.arm) << "'";
      first = false;
    }
    gp << "\nset datafile separator whitespace\nset title 'linear probe "
          "accuracy (%)'\n"
       << "unset xlabel\nset style fill solid 0.6\nset boxwidth 0.6\nset "
          "yrange [0:100]\n"
       << "set xtics rotate by -20\nunset key\nplot '" << dir_
       << "/accuracy.dat' using 0:2:xtic(1) with boxes, '' using "
          "0:($2+3):(sprintf('%.1f',$2)) "
          "with labels\nunset multiplot\n";
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
