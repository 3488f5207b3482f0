/*-------------------------------------------------------------------------
 *
 * bloat_measure.c
 *		Tiers 2 and 3 of bloat: architect.measure_bloat(rel, sample_pages)
 *		reads pages of a heap table or a btree index and reports the space
 *		taken by live tuples, dead tuples and free space.
 *
 * Contract
 *	- Tier 3 (method 'exact', sample_pages => 0, or any relation no bigger
 *	  than the sample): every page is read; a heap gives the same figures as
 *	  pgstattuple (live/dead by a dirty snapshot, free space by
 *	  PageGetHeapFreeSpace), a btree the same leaf density as pgstatindex.
 *	- Tier 2 (method 'sampled', the default on relations larger than the
 *	  default sample): a uniform random sample of blocks (BlockSampler, in
 *	  ascending order so the kernel still sees forward reads).  For heaps
 *	  the visibility map is read for every block first: all-visible blocks
 *	  hold no dead tuples, so their free space comes from the free space
 *	  map without reading the block, and the sample is enlarged so that the
 *	  budget of block reads falls on the blocks that can hold dead tuples.
 *	  The two strata are extrapolated separately (post-stratified mean) and
 *	  the error bound is the 95 % half-width from the per-page variance with
 *	  the finite-population correction.  For btrees the leaf density is a
 *	  ratio estimate over the sampled leaf pages.
 *	- bloat_pct: heap = 100 * (dead + free) / table bytes, which is
 *	  pgstattuple's dead_tuple_percent + free_percent; btree =
 *	  100 * (1 - leaf density / fillfactor), leaf density as pgstatindex
 *	  computes avg_leaf_density.
 *
 * Locking: AccessShareLock on the measured relation only (for an index, on
 * the index, as pgstatindex), held to the end of the transaction; buffer
 * content locks in share mode one page at a time.  Pages are read through a
 * BAS_BULKREAD ring so a measurement does not evict the working set.
 *
 * Privilege: SELECT on the table (the index's table for an index), or
 * membership in pg_stat_scan_tables or pg_read_all_stats, checked before
 * any lock is taken.  Callers: SQL, and the architect.bloat view.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/relation.h"
#include "access/visibilitymap.h"
#include "catalog/index.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_authid_d.h"
#include "catalog/pg_class_d.h"
#include "common/pg_prng.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/freespace.h"
#include "storage/fsm_internals.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/sampling.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "bloat.h"
#include "pg_architect.h"

PG_FUNCTION_INFO_V1(architect_measure_bloat);

/*
 * Default sample: relations up to BLOAT_EXACT_PAGES are read whole; larger
 * ones get max(BLOAT_MIN_SAMPLE, min(10 % of the pages, BLOAT_MAX_SAMPLE))
 * block reads.  With per-page waste fractions whose standard deviation is at
 * most 0.5 (the worst case: pages either full or empty), 1 000 pages give a
 * 95 % half-width of 3.1 points and 2 000 of 2.2; typical tables have a
 * spread of 0.1-0.3 and land well inside +/- 2 points.
 */
#define BLOAT_EXACT_PAGES	1000
#define BLOAT_MIN_SAMPLE	1000
#define BLOAT_MAX_SAMPLE	2000

/* 1.96: two-sided 95 % normal quantile. */
#define BLOAT_Z95			1.96

/* All-visible blocks actually read to learn their live-byte share. */
#define BLOAT_CALIBRATION_READS 32

/* Running sums for one stratum. */
typedef struct Stratum
{
	double		n;				/* pages observed */
	double		live;
	double		dead;
	double		free;
	double		waste;			/* dead + free */
	double		waste_sq;
} Stratum;

typedef struct Measurement
{
	bool		exact;
	BlockNumber nblocks;
	int64		pages_read;
	double		table_bytes;
	double		live_bytes;
	double		dead_bytes;
	double		free_bytes;
	double		bloat_pct;
	double		error_pct;
} Measurement;

static void
stratum_add(Stratum *s, double live, double dead, double free)
{
	s->n += 1;
	s->live += live;
	s->dead += dead;
	s->free += free;
	s->waste += dead + free;
	s->waste_sq += (dead + free) * (dead + free);
}

/* Estimated total of the waste of a stratum of N pages and its variance. */
static double
stratum_variance(const Stratum *s, double N)
{
	double		mean,
				var;

	if (s->n < 2 || N <= s->n)
		return 0.0;
	mean = s->waste / s->n;
	var = (s->waste_sq - s->n * mean * mean) / (s->n - 1);
	if (var < 0)
		var = 0;
	return N * N * var / s->n * (1.0 - s->n / N);
}

static int
default_sample(BlockNumber nblocks)
{
	double		n = nblocks / 10.0;

	if (n > BLOAT_MAX_SAMPLE)
		n = BLOAT_MAX_SAMPLE;
	if (n < BLOAT_MIN_SAMPLE)
		n = BLOAT_MIN_SAMPLE;
	return (int) n;
}

/*
 * Privilege like pgstattuple's default grants, but also open to whoever may
 * read the table: the figures say nothing a SELECT could not.
 */
static void
check_privilege(Oid relid, char relkind)
{
	Oid			tableid = relid;
	Oid			userid = GetUserId();

	if (has_privs_of_role(userid, ROLE_PG_STAT_SCAN_TABLES) ||
		has_privs_of_role(userid, ROLE_PG_READ_ALL_STATS))
		return;
	if (relkind == RELKIND_INDEX)
	{
		tableid = IndexGetRelation(relid, true);
		if (!OidIsValid(tableid))
			tableid = relid;
	}
	if (pg_class_aclcheck(tableid, userid, ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to measure bloat of \"%s\"",
						get_rel_name(relid)),
				 errhint("Grant SELECT on the table, or membership in pg_stat_scan_tables or pg_read_all_stats.")));
}

static void
relation_missing(Oid relid)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_TABLE),
			 errmsg("relation with OID %u does not exist", relid),
			 errhint("The relation was dropped or the OID is wrong; pass a current relation name.")));
}

bool
bloat_relation_is_btree(Relation rel)
{
	return rel->rd_rel->relkind == RELKIND_INDEX &&
		rel->rd_rel->relam == BTREE_AM_OID;
}

/*
 * Open relid for bloat work: exists, caller may see it, has heap or btree
 * storage, is not another session's temp table.  AccessShareLock, kept to
 * the end of the transaction.  With wait_for_lock false, returns NULL when
 * the lock is not free right now (the view must not queue behind DDL).
 */
Relation
bloat_open_relation(Oid relid, bool wait_for_lock)
{
	char		relkind;
	Relation	rel;
	const char *name;

	relkind = get_rel_relkind(relid);
	if (relkind == '\0')
		relation_missing(relid);
	check_privilege(relid, relkind);

	if (wait_for_lock)
		LockRelationOid(relid, AccessShareLock);
	else if (!ConditionalLockRelationOid(relid, AccessShareLock))
		return NULL;
	rel = try_relation_open(relid, NoLock);
	if (rel == NULL)
	{
		UnlockRelationOid(relid, AccessShareLock);
		relation_missing(relid);
	}
	name = RelationGetRelationName(rel);

	switch (rel->rd_rel->relkind)
	{
		case RELKIND_RELATION:
		case RELKIND_MATVIEW:
		case RELKIND_TOASTVALUE:
			if (rel->rd_rel->relam != HEAP_TABLE_AM_OID)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("table \"%s\" does not use the heap access method", name),
						 errhint("Only heap tables and btree indexes are measured.")));
			break;
		case RELKIND_INDEX:
			if (rel->rd_rel->relam != BTREE_AM_OID)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("index \"%s\" is not a btree index", name),
						 errhint("Only btree indexes are measured; contrib pgstattuple has pgstatginindex and pgstathashindex for GIN and hash.")));
			break;
		case RELKIND_VIEW:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is a view", name),
					 errhint("A view has no storage; measure the tables it reads.")));
			break;
		case RELKIND_SEQUENCE:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is a sequence", name),
					 errhint("A sequence is one page and cannot bloat; measure tables and btree indexes.")));
			break;
		case RELKIND_PARTITIONED_TABLE:
		case RELKIND_PARTITIONED_INDEX:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is partitioned and has no storage of its own", name),
					 errhint("Measure each partition.")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("\"%s\" is not a table, materialized view or btree index", name),
					 errhint("Bloat is measured on heap tables, materialized views, TOAST tables and btree indexes.")));
	}

	if (RELATION_IS_OTHER_TEMP(rel))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot measure temporary relation \"%s\" of another session", name),
				 errhint("Its pages live in the other session's local buffers; measure it from that session.")));
	return rel;
}

/*
 * One heap page, as pgstattuple counts it: tuples visible to a dirty
 * snapshot are live (t_len), the others dead (t_len); free space is
 * PageGetHeapFreeSpace.
 */
static void
heap_page(Relation rel, BlockNumber blk, BufferAccessStrategy strategy,
		  double *live, double *dead, double *free)
{
	Buffer		buf;
	Page		page;
	OffsetNumber off,
				maxoff;
	SnapshotData dirty;

	InitDirtySnapshot(dirty);
	*live = *dead = 0;

	buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);

	*free = PageGetHeapFreeSpace(page);
	if (!PageIsNew(page))
	{
		maxoff = PageGetMaxOffsetNumber(page);
		for (off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
		{
			ItemId		lp = PageGetItemId(page, off);
			HeapTupleData tup;

			if (!ItemIdIsNormal(lp))
				continue;
			tup.t_data = (HeapTupleHeader) PageGetItem(page, lp);
			tup.t_len = ItemIdGetLength(lp);
			tup.t_tableOid = RelationGetRelid(rel);
			ItemPointerSet(&tup.t_self, blk, off);
			if (HeapTupleSatisfiesVisibility(&tup, &dirty, buf))
				*live += tup.t_len;
			else
				*dead += tup.t_len;
		}
	}
	UnlockReleaseBuffer(buf);
}

static void
measure_heap(Relation rel, int sample, Measurement *m)
{
	BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);
	BlockNumber N = m->nblocks;
	Stratum vis = {0},
				other = {0};
	double		live,
				dead,
				free;

	if (m->exact)
	{
		BlockNumber blk;

		for (blk = 0; blk < N; blk++)
		{
			CHECK_FOR_INTERRUPTS();
			heap_page(rel, blk, strategy, &live, &dead, &free);
			stratum_add(&other, live, dead, free);
			m->pages_read++;
		}
		m->live_bytes = other.live;
		m->dead_bytes = other.dead;
		m->free_bytes = other.free;
		m->error_pct = 0;
	}
	else
	{
		Buffer		vmbuf = InvalidBuffer;
		BlockNumber blk;
		BlockNumber nvisible = 0;
		BlockSamplerData bs;
		double		n_visits;
		double		calib_live = 0,
					calib_used = 0;
		double		calib_every;
		double		visible_seen = 0;
		double		N_vis,
					N_other,
					ratio;
		BlockNumber last_fsm_page = InvalidBlockNumber;
		int64		fsm_pages = 0;

		/* Stratify: how many blocks are all-visible (one VM page = 32k blocks). */
		for (blk = 0; blk < N; blk++)
		{
			if ((blk & 1023) == 0)
				CHECK_FOR_INTERRUPTS();
			if (VM_ALL_VISIBLE(rel, blk, &vmbuf))
				nvisible++;
		}
		N_vis = nvisible;
		N_other = N - nvisible;

		/*
		 * Visit enough blocks that about `sample` of them are not
		 * all-visible: those are read, the all-visible ones cost a FSM probe.
		 */
		n_visits = N_other > 0 ? (double) sample * N / N_other : sample;
		if (n_visits > N)
			n_visits = N;
		if (n_visits < sample)
			n_visits = sample;
		calib_every = Max(1.0, (n_visits * N_vis / N) / BLOAT_CALIBRATION_READS);

		BlockSampler_Init(&bs, N, (int) n_visits,
						  pg_prng_uint32(&pg_global_prng_state));
		while (BlockSampler_HasMore(&bs))
		{
			blk = BlockSampler_Next(&bs);
			CHECK_FOR_INTERRUPTS();
			if (VM_ALL_VISIBLE(rel, blk, &vmbuf))
			{
				/* FSM categories round down to BLCKSZ/256: add half of one */
				free = GetRecordedFreeSpace(rel, blk) + BLCKSZ / 512;
				if (blk / SlotsPerFSMPage != last_fsm_page)
				{
					last_fsm_page = blk / SlotsPerFSMPage;
					fsm_pages++;
				}
				/* Read a few to learn how much of the used space is tuples. */
				if (fmod(visible_seen, calib_every) < 1.0)
				{
					double		rfree;

					heap_page(rel, blk, strategy, &live, &dead, &rfree);
					m->pages_read++;
					calib_live += live;
					calib_used += BLCKSZ - rfree - dead;
				}
				visible_seen += 1;
				stratum_add(&vis, 0, 0, free);
			}
			else
			{
				heap_page(rel, blk, strategy, &live, &dead, &free);
				m->pages_read++;
				stratum_add(&other, live, dead, free);
			}
		}
		if (vmbuf != InvalidBuffer)
			ReleaseBuffer(vmbuf);

		/* VM pages and FSM leaf pages (plus the FSM's upper levels) consulted. */
		m->pages_read += N / (BLCKSZ * 4) + 1;
		if (fsm_pages > 0)
			m->pages_read += fsm_pages + 2;

		ratio = calib_used > 0 ? calib_live / calib_used :
			(other.n > 0 && BLCKSZ * other.n - other.free - other.dead > 0 ?
			 other.live / (BLCKSZ * other.n - other.free - other.dead) : 0.9);

		m->live_bytes = m->dead_bytes = m->free_bytes = 0;
		if (other.n > 0)
		{
			m->live_bytes += N_other * other.live / other.n;
			m->dead_bytes += N_other * other.dead / other.n;
			m->free_bytes += N_other * other.free / other.n;
		}
		if (vis.n > 0)
		{
			double		vfree = N_vis * vis.free / vis.n;

			m->free_bytes += vfree;
			m->live_bytes += (N_vis * BLCKSZ - vfree) * ratio;
		}
		else if (N_vis > 0 && other.n > 0)
		{
			/* No all-visible block drawn: lean on the other stratum. */
			m->free_bytes += N_vis * other.free / other.n;
			m->live_bytes += N_vis * other.live / other.n;
		}
		m->error_pct = 100.0 * BLOAT_Z95 *
			sqrt(stratum_variance(&vis, N_vis) + stratum_variance(&other, N_other)) /
			((double) N * BLCKSZ);
	}

	FreeAccessStrategy(strategy);
	m->bloat_pct = N > 0 ?
		100.0 * (m->dead_bytes + m->free_bytes) / ((double) N * BLCKSZ) : 0;
}

static void
check_btree_meta(Relation rel, BufferAccessStrategy strategy, Measurement *m)
{
	Buffer		buf;
	BTMetaPageData *meta;

	buf = ReadBufferExtended(rel, MAIN_FORKNUM, BTREE_METAPAGE, RBM_NORMAL, strategy);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	meta = BTPageGetMeta(BufferGetPage(buf));
	if (!P_ISMETA(BTPageGetOpaque(BufferGetPage(buf))) ||
		meta->btm_magic != BTREE_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" has no valid btree metapage",
						RelationGetRelationName(rel)),
				 errhint("Check it with contrib amcheck (bt_index_check).")));
	UnlockReleaseBuffer(buf);
	m->pages_read++;
}

static void
measure_btree(Relation rel, int sample, Measurement *m)
{
	BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);
	BlockNumber N = m->nblocks;
	double		ff = BTGetFillFactor(rel) / 100.0;
	double		seen = 0,
				leaves = 0,
				ignored = 0;
	double		sum_used = 0,
				sum_avail = 0,
				sum_dead = 0,
				sum_used_sq = 0,
				sum_used_avail = 0,
				sum_avail_sq = 0;
	BlockSamplerData bs;
	BlockNumber blk = 1;
	BlockNumber population = N > 1 ? N - 1 : 0;
	double		density;

	check_btree_meta(rel, strategy, m);
	if (!m->exact)
		BlockSampler_Init(&bs, population, sample,
						  pg_prng_uint32(&pg_global_prng_state));

	while (m->exact ? blk < N : BlockSampler_HasMore(&bs))
	{
		Buffer		buf;
		Page		page;

		if (!m->exact)
			blk = BlockSampler_Next(&bs) + 1;
		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		m->pages_read++;
		seen += 1;
		if (PageIsNew(page))
			ignored += 1;
		else
		{
			BTPageOpaque opaque = BTPageGetOpaque(page);

			if (P_IGNORE(opaque))
				ignored += 1;
			else if (P_ISLEAF(opaque))
			{
				/* pgstatindex's leaf accounting */
				double		avail = BLCKSZ - (BLCKSZ - ((PageHeader) page)->pd_special +
											  SizeOfPageHeaderData);
				double		used = avail - PageGetFreeSpace(page);
				OffsetNumber off,
							maxoff = PageGetMaxOffsetNumber(page);

				for (off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
				{
					ItemId		lp = PageGetItemId(page, off);

					if (ItemIdIsDead(lp))
						sum_dead += ItemIdGetLength(lp);
				}
				leaves += 1;
				sum_used += used;
				sum_avail += avail;
				sum_used_sq += used * used;
				sum_used_avail += used * avail;
				sum_avail_sq += avail * avail;
			}
		}
		UnlockReleaseBuffer(buf);
		if (m->exact)
			blk++;
	}
	FreeAccessStrategy(strategy);

	density = sum_avail > 0 ? sum_used / sum_avail : 0;
	m->bloat_pct = leaves > 0 ? 100.0 * (1.0 - density / ff) : 0;

	/* Extrapolate the leaf level and the unusable pages to the index. */
	{
		double		scale = seen > 0 ? population / seen : 0;
		double		leaf_pages = leaves * scale;
		double		avg_avail = leaves > 0 ? sum_avail / leaves : 0;
		double		avg_used = leaves > 0 ? sum_used / leaves : 0;
		double		avg_dead = leaves > 0 ? sum_dead / leaves : 0;

		m->live_bytes = leaf_pages * (avg_used - avg_dead);
		m->dead_bytes = leaf_pages * avg_dead;
		m->free_bytes = leaf_pages * (avg_avail - avg_used) + ignored * scale * BLCKSZ;
	}

	/*
	 * Ratio estimator variance: s^2 of (used - R avail) over the sampled
	 * leaves, divided by n * mean(avail)^2, with the finite-population
	 * correction on the sampled share of all pages.
	 */
	if (!m->exact && leaves >= 2)
	{
		double		s2 = (sum_used_sq - 2 * density * sum_used_avail +
						  density * density * sum_avail_sq) / (leaves - 1);
		double		mean_avail = sum_avail / leaves;
		double		fpc = population > 0 ? 1.0 - seen / population : 0;
		double		var_r = s2 / (leaves * mean_avail * mean_avail) * Max(fpc, 0);

		m->error_pct = 100.0 * BLOAT_Z95 * sqrt(Max(var_r, 0)) / ff;
	}
	else
		m->error_pct = 0;
}

/*
 * architect.measure_bloat(rel regclass, sample_pages int DEFAULT NULL)
 *
 * sample_pages NULL: the default sample (exact on small relations);
 * 0: exact, every page; N > 0: about N page reads (exact if the relation
 * has no more than N pages).
 */
Datum
architect_measure_bloat(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Relation	rel;
	Measurement m = {0};
	int			sample;
	TupleDesc	tupdesc;
	Datum		values[10];
	bool		nulls[10] = {0};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	relid = PG_GETARG_OID(0);
	if (!PG_ARGISNULL(1) && PG_GETARG_INT32(1) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sample_pages must be 0 (exact) or a positive number of pages, not %d",
						PG_GETARG_INT32(1)),
				 errhint("Pass NULL for the default sample, 0 to read every page.")));

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	rel = bloat_open_relation(relid, true);
	m.nblocks = RelationGetNumberOfBlocks(rel);
	m.table_bytes = (double) m.nblocks * BLCKSZ;

	if (PG_ARGISNULL(1))
		sample = m.nblocks <= BLOAT_EXACT_PAGES ? 0 : default_sample(m.nblocks);
	else
		sample = PG_GETARG_INT32(1);
	/* a btree sample is drawn from the pages after the metapage */
	m.exact = (sample == 0 ||
			   (BlockNumber) sample >= (bloat_relation_is_btree(rel) && m.nblocks > 0 ?
										m.nblocks - 1 : m.nblocks));

	if (m.nblocks > 0)
	{
		if (bloat_relation_is_btree(rel))
			measure_btree(rel, sample, &m);
		else
			measure_heap(rel, sample, &m);
	}

	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(m.exact ? "exact" : "sampled");
	values[2] = Int64GetDatum((int64) m.table_bytes);
	values[3] = Int64GetDatum((int64) rint(m.live_bytes));
	values[4] = Int64GetDatum((int64) rint(m.dead_bytes));
	values[5] = Int64GetDatum((int64) rint(m.free_bytes));
	values[6] = Float8GetDatum(m.bloat_pct);
	values[7] = Int64GetDatum(m.pages_read);
	values[8] = Int64GetDatum((int64) m.nblocks);
	values[9] = Float8GetDatum(m.error_pct);

	relation_close(rel, NoLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
