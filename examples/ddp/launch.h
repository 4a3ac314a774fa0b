#pragma once
// Starts the ranks of a one-machine run as child processes of this program
// (the same binary with --rank r), the way torchrun does for Python.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

extern char** environ;

namespace ddp {

/// Runs `argv` (with " --rank r" appended) once per rank, waits for all and
/// returns 0 when every rank exited 0. When one fails the others are
/// stopped: a rank whose peer died would otherwise wait for the collective
/// until the process group's timeout.
inline int launch_ranks(const std::vector<std::string>& argv, int world_size) {
  std::vector<pid_t> children;
  for (int rank = 0; rank < world_size; ++rank) {
    std::vector<std::string> args = argv;
    args.push_back("--rank");
    args.push_back(std::to_string(rank));
    std::vector<char*> raw;
    for (auto& a : args) raw.push_back(a.data());
    raw.push_back(nullptr);
    pid_t pid = 0;
    // /proc/self/exe: this very binary, wherever it was started from.
    if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, raw.data(),
                    environ) != 0) {
      std::perror("posix_spawn");
      for (pid_t child : children) kill(child, SIGTERM);
      return 1;
    }
    children.push_back(pid);
  }
  int failures = 0;
  for (size_t left = children.size(); left > 0; --left) {
    int status = 0;
    const pid_t pid = wait(&status);
    if (pid < 0) break;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      if (failures++ == 0) {
        std::fprintf(stderr, "a rank failed; stopping the others\n");
        for (pid_t child : children)
          if (child != pid) kill(child, SIGTERM);
      }
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace ddp
