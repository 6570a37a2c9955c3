/* test-jobs.c: the background-job scheduler (annotate/jobs.c): reports coalesce without losing a
 * phase or the last count, the end comes once and after the last report, cancel is honoured,
 * and waiting for the workers works. */
#include "qr-jobs.h"

typedef struct
{
  GArray  *phases;      /* int: the phases seen, in order */
  guint64  last_done[4];
  int      n_done;
  char    *summary;
  GError  *error;
  gboolean reports_after_done;
} Seen;

static void
on_progress (QrJob *job, int phase, guint64 done, guint64 total, gpointer data)
{
  Seen *seen = data;
  if (seen->n_done > 0)
    seen->reports_after_done = TRUE;
  if (seen->phases->len == 0 || g_array_index (seen->phases, int, seen->phases->len - 1) != phase)
    g_array_append_val (seen->phases, phase);
  seen->last_done[phase] = done;
}

static void
on_done (QrJob *job, const char *summary, const GError *error, gpointer data)
{
  Seen *seen = data;
  seen->n_done++;
  seen->summary = g_strdup (summary);
  seen->error = error ? g_error_copy (error) : NULL;
}

static char *
chatty (QrJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  for (int phase = 0; phase < 3; phase++)
    for (guint64 i = 1; i <= 20000; i++)
      qr_job_report (job, phase, i, 20000);
  return g_strdup ("all done");
}

static void
test_reports_coalesce (void)
{
  Seen seen = { g_array_new (FALSE, FALSE, sizeof (int)) };
  g_autoptr (QrJob) job = qr_job_start ("chatty", chatty, NULL, NULL, NULL, on_progress, on_done, &seen, NULL);
  guint made, delivered;
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (seen.n_done == 0 && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (seen.n_done, ==, 1);
  g_assert_cmpstr (seen.summary, ==, "all done");
  g_assert_no_error (seen.error);
  g_assert_false (seen.reports_after_done);
  /* every phase, in order, each ending on its last count */
  g_assert_cmpuint (seen.phases->len, ==, 3);
  for (int p = 0; p < 3; p++)
    {
      g_assert_cmpint (g_array_index (seen.phases, int, p), ==, p);
      g_assert_cmpuint (seen.last_done[p], ==, 20000);
    }
  qr_job_get_report_counts (job, &made, &delivered);
  g_test_message ("%u reports made, %u reached the main loop", made, delivered);
  g_assert_cmpuint (made, ==, 60000);
  g_assert_cmpuint (delivered, <, made / 10);
  g_assert_true (qr_jobs_wait (FALSE, 5 * G_USEC_PER_SEC));
  g_array_unref (seen.phases);
  g_free (seen.summary);
}

static char *
patient (QrJob *job, gpointer data, GCancellable *cancellable, GError **error)
{
  /* a batch is 10 ms of work; the cancel is looked at between batches */
  for (int batch = 0; batch < 6000; batch++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      g_usleep (10000);
      qr_job_report (job, 0, (guint64) batch + 1, 6000);
    }
  return g_strdup ("finished (the cancel was missed)");
}

static void
test_cancel (void)
{
  Seen seen = { g_array_new (FALSE, FALSE, sizeof (int)) };
  g_autoptr (QrJob) job = qr_job_start ("patient", patient, NULL, NULL, NULL, on_progress, on_done, &seen, NULL);
  gint64 start, end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (seen.last_done[0] < 5 && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (qr_jobs_running (), >=, 1);
  start = g_get_monotonic_time ();
  qr_job_cancel (job);
  while (seen.n_done == 0 && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_test_message ("the job ended %.1f ms after the cancel", (double) (g_get_monotonic_time () - start) / 1000.0);
  g_assert_cmpint (seen.n_done, ==, 1);
  g_assert_null (seen.summary);
  g_assert_error (seen.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  g_assert_true (qr_jobs_wait (FALSE, 5 * G_USEC_PER_SEC));
  g_assert_cmpuint (qr_jobs_running (), ==, 0);
  g_clear_error (&seen.error);
  g_array_unref (seen.phases);
}

/* Quitting: every worker cancelled and returned before the caller goes on. */
static void
test_wait_cancels (void)
{
  Seen a = { g_array_new (FALSE, FALSE, sizeof (int)) }, b = { g_array_new (FALSE, FALSE, sizeof (int)) };
  g_autoptr (QrJob) one = qr_job_start ("one", patient, NULL, NULL, NULL, on_progress, on_done, &a, NULL);
  g_autoptr (QrJob) two = qr_job_start ("two", patient, NULL, NULL, NULL, on_progress, on_done, &b, NULL);

  g_assert_true (qr_jobs_wait (TRUE, 5 * G_USEC_PER_SEC));
  g_assert_cmpuint (qr_jobs_running (), ==, 0);
  /* their ends still arrive on the main context */
  while (a.n_done == 0 || b.n_done == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (a.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_error (b.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&a.error);
  g_clear_error (&b.error);
  g_array_unref (a.phases);
  g_array_unref (b.phases);
}

/* A worker started elsewhere (the viewer's GTasks) is counted with the jobs: its owner can wait
 * for it alone, and quitting cancels it. */
static void
test_outside_worker (void)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  int owner, other;

  qr_jobs_worker_begin (cancellable, &owner);
  g_assert_cmpuint (qr_jobs_running (), ==, 1);
  g_assert_false (qr_jobs_wait_owner (&owner, 20000));
  g_assert_true (qr_jobs_wait_owner (&other, 20000));
  g_assert_false (qr_jobs_wait (TRUE, 20000));
  g_assert_true (g_cancellable_is_cancelled (cancellable));
  qr_jobs_worker_end (cancellable, &owner);
  g_assert_true (qr_jobs_wait_owner (&owner, 20000));
  g_assert_cmpuint (qr_jobs_running (), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/jobs/reports-coalesce-in-order", test_reports_coalesce);
  g_test_add_func ("/jobs/cancel-between-batches", test_cancel);
  g_test_add_func ("/jobs/wait-cancels-every-worker", test_wait_cancels);
  g_test_add_func ("/jobs/outside-worker-counted", test_outside_worker);
  return g_test_run ();
}
