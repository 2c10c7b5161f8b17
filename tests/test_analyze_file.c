/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_analyze_file — analyze_file() on real files made by sox and ffmpeg
 * (tests/make-analysis-fixtures.sh: MP3, Ogg, mono 8 kHz WAV, one second,
 * silence, noise) and analyze_worker's child-process isolation: a child
 * that crashes, hangs or talks nonsense is reported with a reason and the
 * rest of the batch is analysed.
 */
#include "autoconfig.h"

#include <signal.h>

#include "analyze.h"
#include "analyze_worker.h"
#include "log.h"
#include "testutil.h"

static char fixdir[4096];

static const char *fix(const char *name)
{
	static char path[8][4200];
	static int next;
	char *p = path[next++ % 8];
	snprintf(p, sizeof(path[0]), "%s/%s", fixdir, name);
	return p;
}

static void make_fixtures(void)
{
	const char *builddir = getenv("top_builddir");
	const char *srcdir = getenv("top_srcdir");
	if (!srcdir)
		srcdir = SRCDIR;
	if (!builddir)
		builddir = ".";
	if (!test_have_program("sox") || !test_have_program("ffmpeg") ||
	    !test_have_program("bc")) {
		fprintf(stderr, "sox, ffmpeg and bc are needed\n");
		exit(TEST_SKIP);
	}
	snprintf(fixdir, sizeof(fixdir), "%s/tests/analysis-fixtures", builddir);
	if (test_sh("sh '%s/tests/make-analysis-fixtures.sh' '%s'", srcdir,
		    fixdir) != 0) {
		fprintf(stderr, "make-analysis-fixtures.sh failed\n");
		exit(TEST_HARD_ERROR);
	}
}

static void check_clicks(const char *name, double bpm, double first)
{
	struct analysis a;
	char err[256] = "";
	int rc = analyze_file(fix(name), NULL, &a, err, sizeof(err));
	fprintf(stderr, "%s: rc %d %s bpm %.3f first %.4f down %.4f conf %.2f "
		"grid %.2f lufs %.1f\n", name, rc, err, a.bpm, a.first_beat_s,
		a.downbeat_s, a.bpm_confidence, a.grid_confidence,
		a.loudness_lufs);
	CHECK_INT(rc, ==, 0);
	CHECK(fabs(a.bpm - bpm) / bpm <= 0.001);
	CHECK_NEAR(a.first_beat_s, first, 0.010);
	CHECK_NEAR(a.downbeat_s, first, 0.010);
	CHECK(a.grid_confidence > 0.8);
}

static void test_files(void)
{
	struct analysis a;
	char err[256];
	check_clicks("clicks-128.mp3", 128, 0.5);
	check_clicks("clicks-140.ogg", 140, 0.3);
	check_clicks("clicks-100-mono-8k.wav", 100, 0.25);

	CHECK_INT(analyze_file(fix("one-second.mp3"), NULL, &a, err,
			       sizeof(err)), ==, 0);
	CHECK(a.bpm == 0);
	CHECK_NEAR(a.duration_s, 1.0, 0.1);
	CHECK_INT(analyze_file(fix("silence.ogg"), NULL, &a, err, sizeof(err)),
		  ==, 0);
	CHECK(a.bpm == 0 && a.key == -1 && a.loudness_lufs <= -70);
	CHECK_NEAR(a.duration_s, 10.0, 0.1);
	CHECK_INT(analyze_file(fix("pink-noise.mp3"), NULL, &a, err,
			       sizeof(err)), ==, 0);
	fprintf(stderr, "pink-noise.mp3: bpm %.2f conf %.2f key %s conf %.2f\n",
		a.bpm, a.bpm_confidence, a.key_name, a.key_confidence);
	CHECK(a.bpm_confidence < 0.3 && a.key_confidence < 0.4);

	/* Bad files: an error and a reason. */
	char bad[4200];
	snprintf(bad, sizeof(bad), "%s/not-audio.mp3", fixdir);
	FILE *fp = fopen(bad, "w");
	CHECK(fp != NULL);
	for (int i = 0; i < 5000; i++)
		fputs("this is not audio ", fp);
	fclose(fp);
	err[0] = '\0';
	CHECK_INT(analyze_file(bad, NULL, &a, err, sizeof(err)), <, 0);
	fprintf(stderr, "not-audio.mp3: %s\n", err);
	CHECK(err[0] != '\0');
	err[0] = '\0';
	CHECK_INT(analyze_file("/nonexistent/x.mp3", NULL, &a, err, sizeof(err)),
		  <, 0);
	CHECK(err[0] != '\0');
	unlink(bad);
}

struct batch {
	int rc[8];
	char reason[8][ANALYZE_WORKER_REASON_MAX];
	double bpm[8];
	int calls;
};

static void batch_done(void *ctx, size_t index, int rc,
		       const struct analysis *a, const char *reason)
{
	struct batch *b = ctx;
	CHECK(index < 8);
	b->rc[index] = rc;
	b->bpm[index] = a ? a->bpm : -1;
	snprintf(b->reason[index], sizeof(b->reason[index]), "%s", reason);
	b->calls++;
}

static void test_worker(void)
{
	struct analysis a;
	char reason[ANALYZE_WORKER_REASON_MAX];

	/* A good file in a child gives the same result as in process. */
	struct analysis direct;
	CHECK_INT(analyze_file(fix("clicks-140.ogg"), NULL, &direct, NULL, 0),
		  ==, 0);
	CHECK_INT(analyze_worker_run(fix("clicks-140.ogg"), NULL, 60, &a, reason,
				     sizeof(reason)), ==, 0);
	CHECK_STR(reason, "");
	CHECK(memcmp(&a, &direct, sizeof(a)) == 0);

	/* A crashing, a hanging, a babbling child; good files around them. */
	setenv("FOREVERFM_ANALYZE_TEST_HOOK", "crash:clicks-128", 1);
	CHECK_INT(analyze_worker_run(fix("clicks-128.mp3"), NULL, 60, &a, reason,
				     sizeof(reason)), ==, -EIO);
	fprintf(stderr, "crash: %s\n", reason);
	CHECK(strstr(reason, "crashed: signal 6") != NULL);

	const char *paths[5] = { fix("clicks-128.mp3"), fix("one-second.mp3"),
				 fix("clicks-140.ogg"), "/nonexistent.ogg",
				 fix("clicks-100-mono-8k.wav") };
	struct batch b;
	memset(&b, 0, sizeof(b));
	setenv("FOREVERFM_ANALYZE_TEST_HOOK", "hang:one-second", 1);
	/* The hang costs the whole timeout; the others must finish well inside
	 * it on a loaded CI machine, and under sanitizers (several times
	 * slower). */
#ifdef __SANITIZE_ADDRESS__
	const double batch_timeout_s = 60.0;
#else
	const double batch_timeout_s = 10.0;
#endif
	CHECK_INT(analyze_worker_run_many(paths, 5, NULL, 2, batch_timeout_s,
					  batch_done, &b),
		  ==, 0);
	CHECK_INT(b.calls, ==, 5);
	for (int i = 0; i < 5; i++)
		fprintf(stderr, "batch %d: rc %d bpm %.2f %s\n", i, b.rc[i],
			b.bpm[i], b.reason[i]);
	CHECK_INT(b.rc[0], ==, 0);
	CHECK_NEAR(b.bpm[0], 128, 0.128);
	CHECK_INT(b.rc[1], ==, -ETIMEDOUT);
	CHECK(strstr(b.reason[1], "timed out") != NULL);
	CHECK_INT(b.rc[2], ==, 0);
	CHECK_NEAR(b.bpm[2], 140, 0.14);
	CHECK_INT(b.rc[3], <, 0);
	CHECK(b.reason[3][0] != '\0');
	CHECK_INT(b.rc[4], ==, 0);

	setenv("FOREVERFM_ANALYZE_TEST_HOOK", "garbage:clicks-140", 1);
	CHECK_INT(analyze_worker_run(fix("clicks-140.ogg"), NULL, 60, &a, reason,
				     sizeof(reason)), ==, -EIO);
	fprintf(stderr, "garbage: %s\n", reason);
	CHECK(strstr(reason, "without a result") != NULL);
	unsetenv("FOREVERFM_ANALYZE_TEST_HOOK");

	/* No child is left behind. */
	CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
	CHECK_INT(analyze_worker_run(NULL, NULL, 1, &a, NULL, 0), ==, -EINVAL);
	CHECK_INT(analyze_worker_run_many(paths, 1, NULL, 1, 0, batch_done, &b),
		  ==, -EINVAL);
}

int main(void)
{
	signal(SIGCHLD, SIG_DFL);
	make_fixtures();
	test_files();
	test_worker();
	return 0;
}
