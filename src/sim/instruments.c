/* The simulator's instrument list (see instruments.h): products with realistic price levels
 * and contract terms, each listed for consecutive delivery months, and the reference-data
 * record of each. */
#include "sim/instruments.h"

#include <stdio.h>
#include <string.h>

typedef struct product {
  const char *code, *exchange;
  int64_t tick, price, multiplier, margin_percent, commission;
} product;

#define P(x) ((int64_t)(x)*10000) /* whole units to QX_PRICE_SCALE / QX_MONEY_SCALE */

static const product products[] = {
    {"rb", "SHFE", P(1), P(3850), 10, 10, P(3)},    {"hc", "SHFE", P(1), P(3420), 10, 10, P(3)},
    {"cu", "SHFE", P(10), P(71230), 5, 12, P(10)},  {"al", "SHFE", P(5), P(19870), 5, 12, P(3)},
    {"zn", "SHFE", P(5), P(24150), 5, 12, P(3)},    {"ni", "SHFE", P(10), P(128400), 1, 15, P(3)},
    {"au", "SHFE", 200, P(612), 1000, 10, P(10)},   {"ag", "SHFE", P(1), P(7520), 15, 12, P(1)},
    {"sc", "INE", 1000, P(532), 1000, 15, P(20)},   {"fu", "SHFE", P(1), P(3010), 10, 15, P(1)},
    {"ru", "SHFE", P(5), P(17250), 10, 12, P(3)},   {"i", "DCE", 5000, P(812), 100, 15, P(2)},
    {"j", "DCE", 5000, P(2051), 100, 20, P(5)},     {"m", "DCE", P(1), P(2930), 10, 10, P(1)},
    {"y", "DCE", P(2), P(7788), 10, 10, P(2)},      {"p", "DCE", P(2), P(8654), 10, 12, P(2)},
    {"c", "DCE", P(1), P(2231), 10, 10, P(1)},      {"SR", "CZCE", P(1), P(5912), 10, 10, P(3)},
    {"CF", "CZCE", P(5), P(14025), 5, 10, P(4)},    {"TA", "CZCE", P(2), P(4880), 5, 10, P(3)},
    {"MA", "CZCE", P(1), P(2571), 10, 10, P(2)},    {"IF", "CFFEX", 2000, P(3921), 300, 12, P(25)},
    {"IC", "CFFEX", 2000, P(5688), 200, 14, P(25)}, {"IM", "CFFEX", 2000, P(6032), 200, 14, P(25)},
    {"T", "CFFEX", 50, P(106), 10000, 2, P(3)},     {"TF", "CFFEX", 50, P(104), 10000, 2, P(3)},
    {"AP", "CZCE", P(1), P(7406), 10, 12, P(5)},    {"lh", "DCE", P(5), P(14100), 16, 15, P(4)},
    {"sn", "SHFE", P(10), P(253000), 1, 14, P(3)},  {"pb", "SHFE", P(5), P(16840), 5, 12, P(3)},
    {"ss", "SHFE", P(5), P(13210), 5, 12, P(2)},    {"eg", "DCE", P(1), P(4526), 10, 12, P(3)},
};
#define PRODUCT_COUNT ((int)(sizeof products / sizeof products[0]))

void qx_sim_instruments_init(sim_instrument *out, int count) {
  for (int i = 0; i < count; i++) {
    const product *p = &products[i % PRODUCT_COUNT];
    sim_instrument *ins = &out[i];
    memset(ins, 0, sizeof *ins);
    snprintf(ins->id, sizeof ins->id, "%s%d", p->code, 2501 + i / PRODUCT_COUNT);
    snprintf(ins->product, sizeof ins->product, "%s", p->code);
    snprintf(ins->exchange, sizeof ins->exchange, "%s", p->exchange);
    ins->tick = p->tick;
    ins->start_price = p->price / p->tick * p->tick;
    ins->multiplier = p->multiplier;
    ins->margin_percent = p->margin_percent;
    ins->commission_lot = p->commission;
  }
}

void qx_sim_instrument_record(const sim_instrument *ins, int64_t ts, qx_instrument *out) {
  memset(out, 0, sizeof *out);
  memcpy(out->instrument_id, ins->id, sizeof out->instrument_id);
  memcpy(out->exchange, ins->exchange, sizeof out->exchange);
  memcpy(out->product, ins->product, sizeof out->product);
  out->price_tick = ins->tick;
  out->multiplier = ins->multiplier;
  out->margin_ratio = ins->margin_percent * 10000; /* percent to QX_RATIO_SCALE */
  out->commission_per_lot = ins->commission_lot;
  out->settlement_price = ins->start_price;
  out->ts = ts;
}
