#include "postgres.h"
#include "whatif.h"
int advisor_storage_budget_mb = 0;
int advisor_max_indexes_per_table = 3;
double advisor_min_benefit_pct = 0.5;
void advisor_install_hooks(void) {}
