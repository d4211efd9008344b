// nmoectl: the command-line client. Everything lives in the nmoe_cli library.
#include "cli/app.h"

int main(int argc, char** argv) { return nmoe::cli::Main(argc, argv); }
