// A planted data race: TSan must report it, or the TSan suite proves nothing.
#include <cstdio>
#include <thread>

int shared_counter = 0;

int main() {
  std::thread t{[] { ++shared_counter; }};
  ++shared_counter;
  t.join();
  std::printf("%d\n", shared_counter);
}
