/* The simulator's instrument list (see instruments.h): products with realistic price levels
 * and contract terms, each listed for consecutive delivery months. */
#include "sim/instruments.h"

#include <stdio.h>
#include <string.h>

typedef struct product {
  const char *code;
  int64_t tick, price, multiplier, margin_percent, commission;
} product;

#define P(x) ((int64_t)(x)*10000) /* whole units to QX_PRICE_SCALE / QX_MONEY_SCALE */

static const product products[] = {
    {"rb", P(1), P(3850), 10, 10, P(3)},   {"hc", P(1), P(3420), 10, 10, P(3)},
    {"cu", P(10), P(71230), 5, 12, P(10)}, {"al", P(5), P(19870), 5, 12, P(3)},
    {"zn", P(5), P(24150), 5, 12, P(3)},   {"ni", P(10), P(128400), 1, 15, P(3)},
    {"au", 200, P(612), 1000, 10, P(10)},  {"ag", P(1), P(7520), 15, 12, P(1)},
    {"sc", 1000, P(532), 1000, 15, P(20)}, {"fu", P(1), P(3010), 10, 15, P(1)},
    {"ru", P(5), P(17250), 10, 12, P(3)},  {"i", 5000, P(812), 100, 15, P(2)},
    {"j", 5000, P(2051), 100, 20, P(5)},   {"m", P(1), P(2930), 10, 10, P(1)},
    {"y", P(2), P(7788), 10, 10, P(2)},    {"p", P(2), P(8654), 10, 12, P(2)},
    {"c", P(1), P(2231), 10, 10, P(1)},    {"SR", P(1), P(5912), 10, 10, P(3)},
    {"CF", P(5), P(14025), 5, 10, P(4)},   {"TA", P(2), P(4880), 5, 10, P(3)},
    {"MA", P(1), P(2571), 10, 10, P(2)},   {"IF", 2000, P(3921), 300, 12, P(25)},
    {"IC", 2000, P(5688), 200, 14, P(25)}, {"IM", 2000, P(6032), 200, 14, P(25)},
    {"T", 50, P(106), 10000, 2, P(3)},     {"TF", 50, P(104), 10000, 2, P(3)},
    {"AP", P(1), P(7406), 10, 12, P(5)},   {"lh", P(5), P(14100), 16, 15, P(4)},
    {"sn", P(10), P(253000), 1, 14, P(3)}, {"pb", P(5), P(16840), 5, 12, P(3)},
    {"ss", P(5), P(13210), 5, 12, P(2)},   {"eg", P(1), P(4526), 10, 12, P(3)},
};
#define PRODUCT_COUNT ((int)(sizeof products / sizeof products[0]))

void sim_instruments_init(sim_instrument *out, int count) {
  for (int i = 0; i < count; i++) {
    const product *p = &products[i % PRODUCT_COUNT];
    sim_instrument *ins = &out[i];
    memset(ins, 0, sizeof *ins);
    snprintf(ins->id, sizeof ins->id, "%s%d", p->code, 2501 + i / PRODUCT_COUNT);
    ins->tick = p->tick;
    ins->start_price = p->price / p->tick * p->tick;
    ins->multiplier = p->multiplier;
    ins->margin_percent = p->margin_percent;
    ins->commission_lot = p->commission;
  }
}
