# pg_architect — PGXS build.
#
# Sources are picked up by wildcard so that each concern lives in its own file
# under src/<area>/ and needs no edit here.  Headers are included by their
# path from src/ ("capture/capture.h"), so a dependency between areas is
# visible at the include line.  The install script is assembled from
# sql/parts/NN_<concern>.sql in name order, for the same reason.

EXTENSION   = pg_architect
EXTVERSION  = 0.1

MODULE_big  = pg_architect
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*/*.c)))

DATA_built  = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA        = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*--*.sql))
# The CI check for migration files, installed into the server's bindir.
SCRIPTS     = scripts/pga-migrate-check
EXTRA_CLEAN = $(DATA_built) src/*/*.d test/results test/regression.diffs test/regression.out

PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS   = -std=gnu11

REGRESS      = $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test --outputdir=test --load-extension=plpgsql

# Rebuild objects when a header they include changes (override: PGXS's
# Makefile.global would reset it to the server's configure setting).
override autodepend = yes

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

SQL_PARTS = $(sort $(wildcard sql/parts/*.sql))

sql/$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	@{ echo '/* pg_architect $(EXTVERSION) install script, assembled from sql/parts by make. Do not edit. */'; \
	   printf '%s\n' '\echo Use "CREATE EXTENSION pg_architect" to load this file. \quit'; \
	   for f in $(SQL_PARTS); do echo; echo "-- ==== $$f ===="; cat $$f; done; } > $@

.PHONY: test demo
test:
	scripts/test-all.sh
demo:
	scripts/demo.sh
