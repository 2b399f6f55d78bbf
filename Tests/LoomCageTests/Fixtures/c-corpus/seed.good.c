#include <stdlib.h>

int roll_dice(unsigned int seed) {
  srand(seed);
  return rand() % 6 + 1;
}
