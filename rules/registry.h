/* SPDX-License-Identifier: MIT */
/* The table of every rule (rules.def). */
#ifndef DV_RULES_REGISTRY_H
#define DV_RULES_REGISTRY_H

#include "rule.h"

extern const struct rule_ops *const rule_registry[];
extern const unsigned rule_registry_n;

#endif
