#include <iostream>

#include "cli/cli.h"

int main(int argc, char** argv) {
  return ferry::RunFerry(argc, argv, std::cout, std::cerr, ferry::Env::Default());
}
