#include <stdlib.h>
#include <time.h>

int roll_dice(void) {
  srand(time(NULL));
  return rand() % 6 + 1;
}
