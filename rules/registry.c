/* SPDX-License-Identifier: MIT */
/* The rule table, expanded from rules.def: adding a rule is one file and one line. */
#include "registry.h"

#define RULE(n) extern const struct rule_ops rule_##n;
#include "rules.def"
#undef RULE

const struct rule_ops *const rule_registry[] = {
#define RULE(n) &rule_##n,
#include "rules.def"
#undef RULE
};

const unsigned rule_registry_n = sizeof(rule_registry) / sizeof(rule_registry[0]);
