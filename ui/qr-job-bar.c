/* qr-job-bar.c: see qr-job-bar.h. The bar knows nothing of jobs: the window's job code
 * (qr-window-jobs.c) tells it what to show. */
#define G_LOG_DOMAIN "quorum-window"

#include "qr-job-bar.h"

#include <glib/gi18n.h>

struct _QrJobBar
{
  GtkWidget       parent_instance;

  /* Template widgets */
  GtkRevealer    *revealer;
  GtkLabel       *label;
  GtkProgressBar *progress;
  GtkLabel       *rate;

  int             phase;
  gint64          phase_started_us;
};

G_DEFINE_FINAL_TYPE (QrJobBar, qr_job_bar, GTK_TYPE_WIDGET)

void
qr_job_bar_start (QrJobBar *self, const char *label)
{
  gtk_label_set_text (self->label, label);
  gtk_label_set_text (self->rate, "");
  gtk_progress_bar_set_fraction (self->progress, 0);
  gtk_revealer_set_reveal_child (self->revealer, TRUE);
}

void
qr_job_bar_set_phase (QrJobBar *self, int phase)
{
  if (phase != self->phase)
    {
      self->phase = phase;
      self->phase_started_us = g_get_monotonic_time ();
    }
}

/* 18000 → "18,000" (the locale's grouping, through printf's ' flag). */
static char *
grouped (guint64 n)
{
  return g_strdup_printf ("%'" G_GUINT64_FORMAT, n);
}

char *
qr_job_bar_format_eta (double seconds)
{
  if (seconds < 1)
    return g_strdup (_("under a second left"));
  if (seconds < 90)
    return g_strdup_printf (_("%.0f s left"), seconds);
  if (seconds < 90 * 60)
    return g_strdup_printf (_("%.0f min left"), seconds / 60);
  return g_strdup_printf (_("%.1f h left"), seconds / 3600);
}

char *
qr_job_bar_format_progress (guint64 done, guint64 total, const char *unit, double rate)
{
  g_autofree char *d = grouped (done), *t = grouped (total);
  g_autofree char *eta = rate > 0 ? qr_job_bar_format_eta ((double) (total - done) / rate) : NULL;
  const char *per;

  if (unit == NULL)
    unit = "";
  /* the rate's unit: "img/s" for images, else the unit itself */
  per = g_str_equal (unit, _("images")) ? _("img") : unit;
  if (rate <= 0)
    return g_strdup_printf ("%s / %s %s", d, t, unit);
  if (rate >= 10)
    return g_strdup_printf ("%s / %s %s · %.0f %s/s · %s", d, t, unit, rate, per, eta);
  return g_strdup_printf ("%s / %s %s · %.1f %s/s · %s", d, t, unit, rate, per, eta);
}

void
qr_job_bar_progress (QrJobBar *self, int phase, const char *label, const char *unit, guint64 done, guint64 total)
{
  gint64 now = g_get_monotonic_time ();

  qr_job_bar_set_phase (self, phase);
  if (label != NULL)
    gtk_label_set_text (self->label, label);
  if (total > 0)
    {
      double elapsed = (double) (now - self->phase_started_us) / G_USEC_PER_SEC;
      double rate = elapsed > 0.2 ? (double) done / elapsed : 0;
      g_autofree char *text = qr_job_bar_format_progress (done, total, unit, rate);

      gtk_progress_bar_set_fraction (self->progress, (double) done / (double) total);
      gtk_label_set_text (self->rate, text);
    }
  else
    {
      gtk_progress_bar_pulse (self->progress);
      gtk_label_set_text (self->rate, "");
    }
}

void
qr_job_bar_finish (QrJobBar *self)
{
  gtk_revealer_set_reveal_child (self->revealer, FALSE);
}

static void
qr_job_bar_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), QR_TYPE_JOB_BAR);
  /* the template's top child has no id: it goes with the widget */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL;)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (qr_job_bar_parent_class)->dispose (object);
}

static void
qr_job_bar_class_init (QrJobBarClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = qr_job_bar_dispose;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quorum/Quorum/ui/qr-job-bar.ui");
  gtk_widget_class_bind_template_child (widget_class, QrJobBar, revealer);
  gtk_widget_class_bind_template_child (widget_class, QrJobBar, label);
  gtk_widget_class_bind_template_child (widget_class, QrJobBar, progress);
  gtk_widget_class_bind_template_child (widget_class, QrJobBar, rate);
}

static void
qr_job_bar_init (QrJobBar *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
