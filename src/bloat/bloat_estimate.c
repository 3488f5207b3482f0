/*-------------------------------------------------------------------------
 *
 * bloat_estimate.c
 *		Tier 1 of bloat: architect.estimate_bloat(rel) computes, without
 *		reading a single data page, how big a heap table or btree index
 *		should be and how much of it pgstattuple / pgstatindex would call
 *		dead or free, from the catalog and the activity statistics.
 *
 * Contract
 *	- Inputs: pg_statistic read through the syscache (stawidth, stanullfrac,
 *	  stadistinct; the catalog itself, not the pg_stats view, so the figures
 *	  do not silently vanish for columns the caller cannot read), pg_class
 *	  (reltuples, relnatts, reloptions through the relcache: fillfactor),
 *	  pg_attribute (length, alignment, storage), the cumulative statistics
 *	  (n_live_tup, n_dead_tup, n_mod_since_analyze, last analyze) and the
 *	  relation's current size in blocks.
 *	- Heap model: expected tuple = MAXALIGN(23 + null bitmap) header plus the
 *	  columns laid out with their alignment (short varlenas unaligned), each
 *	  weighted by its non-null fraction; on the page each tuple takes
 *	  MAXALIGN(t_len) + a 4-byte line pointer.  pgstattuple's dead + free is
 *	  then what is left of the relation after page headers and live tuples.
 *	  TOAST tables hold chunks whose size is not in pg_statistic; they are
 *	  estimated at 3/4 of a full chunk and flagged low confidence.
 *	- Btree model: index tuple = MAXALIGN(8 [+4 null bitmap] + key and
 *	  INCLUDE columns), + line pointer; single-column non-unique indexes
 *	  with repeated keys are modelled as deduplicated posting lists; leaf
 *	  density is compared with the index fillfactor, as measure_bloat does.
 *	- expected_bytes: the size of the relation freshly rewritten at its
 *	  fillfactor; wasted_bytes = size - expected (never negative): what a
 *	  rewrite (VACUUM FULL, pg_repack, REINDEX) would give back.
 *	- confidence (0..1) starts at 1 and is multiplied down for: never
 *	  analysed, rows changed since the last ANALYZE (n_mod_since_analyze /
 *	  rows), no activity statistics, columns without statistics, expression
 *	  or partial index, deduplication guessed, TOAST chunks, tiny relations.
 *	  confidence_note says which.
 *
 * Locking: AccessShareLock on the relation, taken conditionally and
 * released at once (like pg_relation_size): if another session holds a
 * conflicting lock the row comes back with NULL figures and a note instead
 * of queueing the whole architect.bloat view behind DDL.
 *
 * Callers: SQL (architect.estimate_bloat) and the architect.bloat view
 * (sql/parts/40_bloat.sql), which estimates every relation with it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/itup.h"
#include "access/nbtree.h"
#include "access/relation.h"
#include "access/heaptoast.h"
#include "catalog/pg_class_d.h"
#include "catalog/pg_index.h"
#include "catalog/pg_statistic.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "bloat/bloat.h"
#include "core/pg_architect.h"

PG_FUNCTION_INFO_V1(architect_estimate_bloat);

#define EST_NCOLS 11

/* BTMaxItemSize without a page at hand: a third of a page, less overhead. */
#define BTREE_MAX_ITEM \
	((BLCKSZ - MAXALIGN(SizeOfPageHeaderData + 3 * sizeof(ItemIdData)) - \
	  MAXALIGN(sizeof(BTPageOpaqueData))) / 3)

typedef struct Estimate
{
	const char *kind;
	double		table_bytes;
	double		live_bytes;
	double		dead_bytes;
	double		free_bytes;
	double		bloat_pct;
	double		expected_bytes;
	double		confidence;
	StringInfoData note;
} Estimate;

/* Width and null fraction of one column, from pg_statistic if present. */
typedef struct ColStat
{
	bool		have;
	double		width;
	double		nullfrac;
	double		ndistinct;		/* pg_statistic convention; 0 = unknown */
} ColStat;

static void
lower_confidence(Estimate *e, double factor, const char *why)
{
	e->confidence *= factor;
	if (e->note.len > 0)
		appendStringInfoString(&e->note, "; ");
	appendStringInfoString(&e->note, why);
}

static ColStat
column_stat(Oid relid, AttrNumber attnum, Form_pg_attribute att)
{
	ColStat		cs = {0};
	HeapTuple	tup;

	tup = SearchSysCache3(STATRELATTINH, ObjectIdGetDatum(relid),
						  Int16GetDatum(attnum), BoolGetDatum(false));
	if (HeapTupleIsValid(tup))
	{
		Form_pg_statistic st = (Form_pg_statistic) GETSTRUCT(tup);

		cs.have = true;
		cs.width = st->stawidth;
		cs.nullfrac = st->stanullfrac;
		cs.ndistinct = st->stadistinct;
		ReleaseSysCache(tup);
	}
	else
	{
		cs.width = att->attlen > 0 ? att->attlen :
			get_typavgwidth(att->atttypid, att->atttypmod);
		cs.nullfrac = 0;
	}
	return cs;
}

static double
align_up(double off, char align)
{
	double		a = align == TYPALIGN_DOUBLE ? ALIGNOF_DOUBLE :
		align == TYPALIGN_INT ? ALIGNOF_INT :
		align == TYPALIGN_SHORT ? ALIGNOF_SHORT : 1;

	return ceil(off / a) * a;
}

/* Add one column to a running expected offset. */
static double
lay_out(double off, Form_pg_attribute att, const ColStat *cs)
{
	char		align = att->attalign;

	/* short varlenas (1-byte header, < 127 bytes) are stored unaligned */
	if (att->attlen == -1 && att->attstorage != TYPSTORAGE_PLAIN && cs->width < 127)
		align = TYPALIGN_CHAR;
	return (1.0 - cs->nullfrac) * (align_up(off, align) + cs->width) +
		cs->nullfrac * off;
}

/*
 * MAXALIGN of a mean length: exact if fixed.  With varlenas the lengths may
 * all be equal (padding = MAXALIGN of the mean) or spread (half the
 * alignment on average); without the spread in pg_statistic, take the
 * midpoint of the two.
 */
static double
maxalign_mean(double len, bool fixed)
{
	double		same = MAXALIGN((Size) ceil(len));

	if (fixed)
		return same;
	return (same + len + (MAXIMUM_ALIGNOF - 1) / 2.0) / 2.0;
}

/* Rows the relation holds now: activity statistics, else reltuples. */
static void
row_counts(Relation rel, Estimate *e, double *live, double *dead,
		   double *changed)
{
	PgStat_StatTabEntry *tab = pgstat_fetch_stat_tabentry(RelationGetRelid(rel));
	double		reltuples = rel->rd_rel->reltuples;

	*live = *dead = *changed = 0;
	if (tab != NULL)
	{
		*live = Max(tab->n_live_tuples, 0);
		*dead = Max(tab->n_dead_tuples, 0);
		*changed = Max(tab->changes_since_analyze, 0);
		if (tab->analyze_timestamp == 0 && tab->autovac_analyze_timestamp == 0 &&
			reltuples < 0)
			lower_confidence(e, 0.3, "never analysed");
	}
	else
	{
		*live = Max(reltuples, 0);
		if (reltuples < 0)
			lower_confidence(e, 0.2, "never vacuumed or analysed and no activity statistics");
		else
			lower_confidence(e, 0.6, "no activity statistics (reset or never collected): dead rows unknown");
	}
}

static void
staleness(Estimate *e, double rows, double changed)
{
	double		frac = changed / Max(rows, 1.0);

	if (frac > 0.1)
	{
		char		buf[128];

		snprintf(buf, sizeof(buf), "%.0f%% of rows changed since the last ANALYZE",
				 Min(frac, 99.0) * 100.0);
		lower_confidence(e, Max(0.3, 1.0 - Min(frac, 1.0) * 0.7), buf);
	}
}

static void
estimate_heap(Relation rel, BlockNumber nblocks, Estimate *e)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			relid = RelationGetRelid(rel);
	double		off = 0,
				nullany = 0,
				t_len,
				footprint,
				live,
				dead,
				changed,
				waste,
				target_free,
				per_page,
				unused_lp;
	bool		fixed = true;
	int			missing = 0,
				natts = 0,
				i;
	int			ff = RelationGetFillFactor(rel, HEAP_DEFAULT_FILLFACTOR);

	row_counts(rel, e, &live, &dead, &changed);

	if (rel->rd_rel->relkind == RELKIND_TOASTVALUE)
	{
		/* chunk_id oid, chunk_seq int4, chunk_data bytea (4-byte header) */
		off = sizeof(Oid) + sizeof(int32) + VARHDRSZ + TOAST_MAX_CHUNK_SIZE * 0.75;
		fixed = false;
		lower_confidence(e, 0.5, "TOAST chunk sizes are not in pg_statistic");
	}
	else
	{
		for (i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);
			ColStat		cs;

			if (att->attisdropped)
				continue;
			natts++;
			cs = column_stat(relid, att->attnum, att);
			if (!cs.have)
				missing++;
			if (att->attlen < 0)
				fixed = false;
			nullany = Max(nullany, cs.nullfrac);
			off = lay_out(off, att, &cs);
		}
		if (missing > 0 && rel->rd_rel->relkind != RELKIND_TOASTVALUE)
		{
			char		buf[128];

			snprintf(buf, sizeof(buf), "%d of %d columns have no statistics", missing, natts);
			lower_confidence(e, missing == natts ? 0.4 : 0.7, buf);
		}
	}
	staleness(e, live, changed);

	t_len = MAXALIGN(SizeofHeapTupleHeader +
					 (nullany > 0 ? BITMAPLEN(desc->natts) : 0)) + off;
	footprint = maxalign_mean(t_len, fixed) + sizeof(ItemIdData);

	/* Freshly packed: inserts stop at the fillfactor's reserve. */
	target_free = BLCKSZ * (100 - ff) / 100.0;
	per_page = floor((BLCKSZ - SizeOfPageHeaderData - target_free) / footprint);
	per_page = Max(1.0, Min(per_page, (double) MaxHeapTuplesPerPage));

	/*
	 * pgstattuple's free space excludes one line pointer per page; dead
	 * tuples count t_len, their padding and line pointer count as neither.
	 * VACUUM leaves the line pointers of removed tuples in place (unused)
	 * unless they end the array: with deletes scattered over full pages
	 * the array stays as long as a full page's, with whole pages emptied it
	 * shrinks.  The statistics cannot tell the two apart: take half.
	 */
	unused_lp = Max(0.0, nblocks * per_page - live - dead) * 0.5;
	waste = e->table_bytes -
		nblocks * (double) (SizeOfPageHeaderData + sizeof(ItemIdData)) -
		live * footprint - dead * (footprint - t_len) -
		unused_lp * sizeof(ItemIdData);
	waste = Max(waste, 0);
	e->live_bytes = live * t_len;
	e->dead_bytes = Min(dead * t_len, waste);
	e->free_bytes = waste - e->dead_bytes;
	e->bloat_pct = e->table_bytes > 0 ? 100.0 * waste / e->table_bytes : 0;

	e->expected_bytes = ceil(live / per_page) * BLCKSZ;
}

/* false: the table is locked by someone else or gone; nothing estimated */
static bool
estimate_btree(Relation rel, BlockNumber nblocks, Estimate *e)
{
	Form_pg_index index = rel->rd_index;
	TupleDesc	desc = RelationGetDescr(rel);
	Relation	heap;
	double		off = 0,
				nullany = 0,
				live,
				dead,
				changed,
				rows,
				tuple,
				per_row,
				ff = BTGetFillFactor(rel) / 100.0,
				avail = BLCKSZ - SizeOfPageHeaderData - MAXALIGN(sizeof(BTPageOpaqueData)),
				fanout,
				leaf_now,
				used,
				density,
				leaf_packed;
	bool		fixed = true,
				expr_missing = false;
	ColStat		first = {0};
	int			i;

	if (!ConditionalLockRelationOid(index->indrelid, AccessShareLock))
		return false;
	heap = try_relation_open(index->indrelid, NoLock);
	if (heap == NULL)
	{
		UnlockRelationOid(index->indrelid, AccessShareLock);
		return false;
	}
	row_counts(heap, e, &live, &dead, &changed);

	for (i = 0; i < index->indnatts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		AttrNumber	key = index->indkey.values[i];
		ColStat		cs;

		if (key > 0)
			cs = column_stat(index->indrelid, key, TupleDescAttr(RelationGetDescr(heap), key - 1));
		else
		{
			/* ANALYZE keeps expression-column statistics under the index */
			cs = column_stat(RelationGetRelid(rel), i + 1, att);
			if (!cs.have)
				expr_missing = true;
		}
		if (i == 0)
			first = cs;
		if (att->attlen < 0)
			fixed = false;
		nullany = Max(nullany, cs.nullfrac);
		off = lay_out(off, att, &cs);
	}
	staleness(e, live, changed);

	if (!heap_attisnull(rel->rd_indextuple, Anum_pg_index_indexprs, NULL))
		lower_confidence(e, expr_missing ? 0.5 : 0.8, expr_missing ?
						 "expression index without expression statistics" :
						 "expression index");

	/* entries of dead heap rows stay in the index until VACUUM */
	rows = live + dead;
	if (!heap_attisnull(rel->rd_indextuple, Anum_pg_index_indpred, NULL))
	{
		double		share = heap->rd_rel->reltuples > 0 && rel->rd_rel->reltuples >= 0 ?
			Min(1.0, rel->rd_rel->reltuples / heap->rd_rel->reltuples) : 1.0;

		rows *= share;
		lower_confidence(e, 0.6, "partial index");
	}

	tuple = maxalign_mean(MAXALIGN(sizeof(IndexTupleData) +
								   (nullany > 0 ? sizeof(IndexAttributeBitMapData) : 0)) + off,
						  fixed);
	per_row = tuple + sizeof(ItemIdData);

	/* Deduplication: repeated keys of a one-column index share a posting list. */
	if (index->indnatts == 1 && !index->indisunique && first.have &&
		first.ndistinct != 0 && rows > 0)
	{
		double		ndistinct = first.ndistinct > 0 ? first.ndistinct :
			-first.ndistinct * rows;
		double		per_key = rows / Max(ndistinct, 1.0);

		if (per_key > 1.5)
		{
			double		k = Min(per_key, (BTREE_MAX_ITEM / 2 - tuple) /
								sizeof(ItemPointerData));

			k = Max(k, 1.0);
			per_row = (tuple + sizeof(ItemIdData)) / k + sizeof(ItemPointerData);
			lower_confidence(e, 0.8, "deduplicated posting lists modelled");
		}
	}
	relation_close(heap, AccessShareLock);

	/* pages above the leaves: one per `fanout` leaves */
	fanout = Max(2.0, avail / (tuple + sizeof(ItemIdData)));
	leaf_now = nblocks > 1 ? (nblocks - 1) * fanout / (fanout + 1) : 0;
	used = rows * per_row + leaf_now * (tuple + sizeof(ItemIdData));	/* + high keys */
	density = leaf_now > 0 ? used / (leaf_now * avail) : 0;
	e->bloat_pct = leaf_now > 0 ? 100.0 * (1.0 - density / ff) : 0;
	e->live_bytes = live / Max(live + dead, 1.0) * rows * per_row;
	e->dead_bytes = rows * per_row - e->live_bytes;
	e->free_bytes = Max(0, leaf_now * avail - used);
	leaf_packed = ceil(Max(1.0, rows * per_row) / (avail * ff));
	e->expected_bytes = (1 + leaf_packed + ceil(leaf_packed / fanout)) * (double) BLCKSZ;
	return true;
}

/*
 * architect.estimate_bloat(rel regclass): one row, no data page read.
 */
Datum
architect_estimate_bloat(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel;
	TupleDesc	tupdesc;
	Datum		values[EST_NCOLS];
	bool		nulls[EST_NCOLS] = {0};
	Estimate	e = {0};
	BlockNumber nblocks = 0;
	bool		ok;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	e.confidence = 1.0;
	initStringInfo(&e.note);
	values[0] = ObjectIdGetDatum(relid);

	rel = bloat_open_relation(relid, false);
	ok = (rel != NULL);
	if (rel != NULL)
	{
		nblocks = RelationGetNumberOfBlocks(rel);
		e.table_bytes = (double) nblocks * BLCKSZ;
		if (bloat_relation_is_btree(rel))
		{
			e.kind = "btree index";
			ok = estimate_btree(rel, nblocks, &e);
		}
		else
		{
			e.kind = rel->rd_rel->relkind == RELKIND_TOASTVALUE ? "toast table" :
				rel->rd_rel->relkind == RELKIND_MATVIEW ? "materialized view" : "table";
			estimate_heap(rel, nblocks, &e);
		}
	}
	if (!ok)
	{
		int			i;

		if (rel != NULL)
			relation_close(rel, AccessShareLock);
		for (i = 1; i < EST_NCOLS - 1; i++)
			nulls[i] = true;
		values[10] = CStringGetTextDatum("skipped: locked by another session, or just dropped");
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
	}
	if (nblocks < 8)
		lower_confidence(&e, 0.5, "fewer than 8 pages: one page is a large share");
	relation_close(rel, AccessShareLock);

	values[1] = CStringGetTextDatum(e.kind);
	values[2] = Int64GetDatum((int64) e.table_bytes);
	values[3] = Int64GetDatum((int64) rint(e.live_bytes));
	values[4] = Int64GetDatum((int64) rint(e.dead_bytes));
	values[5] = Int64GetDatum((int64) rint(e.free_bytes));
	values[6] = Float8GetDatum(e.bloat_pct);
	values[7] = Int64GetDatum((int64) e.expected_bytes);
	values[8] = Int64GetDatum((int64) Max(0, e.table_bytes - e.expected_bytes));
	values[9] = Float8GetDatum(rint(e.confidence * 100.0) / 100.0);
	values[10] = CStringGetTextDatum(e.note.len > 0 ? e.note.data : "statistics fresh");
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
