// nmoectl's entry point as a library function, so tests run whole
// command lines in-process.
#pragma once

#include <string>
#include <vector>

#include "cli/session.h"

namespace nmoe::cli {

// Parses `args` (args[0] is the program name), runs the command and returns
// the exit code (errors.h). Errors and usage text go to io.err, help to
// io.out. Missing io members are filled in: the process environment, the
// system clock, a sleeping sleep.
int RunNmoectl(const std::vector<std::string>& args, SessionIo io);

// main(): RunNmoectl on the process's streams and terminal.
int Main(int argc, char** argv);

}  // namespace nmoe::cli
