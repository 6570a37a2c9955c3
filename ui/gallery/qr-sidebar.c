/* qr-sidebar.c: see qr-sidebar.h. Each row carries its view and class as data ("view", "class"),
 * which is what the signal hands on. */
#define G_LOG_DOMAIN "quorum-window"

#include "qr-sidebar.h"

#include <glib/gi18n.h>

struct _QrSidebar
{
  GtkWidget   parent_instance;

  /* Template widgets */
  GtkListBox *list;
};

G_DEFINE_FINAL_TYPE (QrSidebar, qr_sidebar, GTK_TYPE_WIDGET)

static guint view_selected_signal;

/* One row: a title and its count (text); sub-rows are indented. */
static GtkWidget *
add_row_text (QrSidebar *self, const char *title, const char *text, QrImageView view, gint64 class_id, gboolean indent)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *label = gtk_label_new (title);
  GtkWidget *count = gtk_label_new (text ? text : "");
  GtkWidget *row = gtk_list_box_row_new ();

  gtk_widget_set_hexpand (label, TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  if (indent)
    gtk_widget_set_margin_start (label, 12);
  gtk_widget_add_css_class (count, "dim-label");
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), count);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  g_object_set_data (G_OBJECT (row), "view", GINT_TO_POINTER (view));
  g_object_set_data (G_OBJECT (row), "class", GSIZE_TO_POINTER ((gsize) class_id));
  gtk_list_box_append (self->list, row);
  return row;
}

static void
set_row_count (GtkWidget *row, const char *text)
{
  GtkWidget *box = gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (row));
  gtk_label_set_text (GTK_LABEL (gtk_widget_get_last_child (box)), text);
}

static void
add_row (QrSidebar *self, const char *title, gint64 n, QrImageView view, gint64 class_id, gboolean indent)
{
  g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, n);
  add_row_text (self, title, text, view, class_id, indent);
}

void
qr_sidebar_rebuild (QrSidebar *self, QrCatalog *catalog, double min_score)
{
  static const char *const titles[] = { N_("All Images"), N_("Unlabeled"), N_("Labeled"), N_("Unreadable"),
                                        N_("Review Queue") };
  static const QrImageView views[] = { QR_VIEW_ALL, QR_VIEW_UNLABELED, QR_VIEW_LABELED, QR_VIEW_UNREADABLE,
                                       QR_VIEW_REVIEW };
  gint64 counts[QR_VIEW_N_COUNTS] = { 0 };
  g_autoptr (GArray) ids = NULL;
  g_autoptr (GPtrArray) names = NULL;
  g_autoptr (GArray) labelled = NULL;
  g_autoptr (GArray) predicted = NULL;
  GtkListBoxRow *selected = gtk_list_box_get_selected_row (self->list);
  int selected_index = selected ? gtk_list_box_row_get_index (selected) : 0;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
    gtk_list_box_remove (self->list, child);
  if (catalog == NULL)
    return;
  qr_catalog_count_views (catalog, min_score, counts, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (titles); i++)
    add_row (self, _(titles[i]), counts[i], views[i], 0, FALSE);
  /* the review queue's kinds, each with the images that have one open */
  {
    static const char *const kind_titles[] = { N_("Missing labels"), N_("Spurious labels"), N_("Wrong classes"),
                                               N_("Poorly located"), N_("Model mistakes"), N_("Caption mistakes") };
    gint64 kinds[QR_REVIEW_N_KINDS] = { 0 };
    G_STATIC_ASSERT (G_N_ELEMENTS (kind_titles) == QR_REVIEW_N_KINDS);
    if (counts[4] > 0 && qr_catalog_count_review_kinds (catalog, kinds, NULL))
      for (int k = 0; k < QR_REVIEW_N_KINDS; k++)
        if (kinds[k] > 0)
          add_row (self, _(kind_titles[k]), kinds[k], QR_VIEW_REVIEW, k + 1, TRUE);
  }
  /* disagreement: model boxes where nothing is labelled, labels no model box confirms (both at
     the Min Score); shown once there are model boxes to disagree with */
  if (counts[5] > 0 || counts[6] > 0)
    {
      GtkWidget *row = add_row_text (self, _("Predicted, Not Labeled"), NULL, QR_VIEW_PREDICTED_UNLABELED, 0, FALSE);
      g_autofree char *n5 = g_strdup_printf ("%" G_GINT64_FORMAT, counts[5]);
      g_autofree char *n6 = g_strdup_printf ("%" G_GINT64_FORMAT, counts[6]);
      set_row_count (row, n5);
      gtk_widget_set_tooltip_text (row, _("Images with no label and a model box at the Min Score or above"));
      row = add_row_text (self, _("Labels No Model Confirms"), NULL, QR_VIEW_UNCONFIRMED, 0, FALSE);
      set_row_count (row, n6);
      gtk_widget_set_tooltip_text (row, _("Images with a label that no model box of its class overlaps (IoU 0.5, "
                                          "at the Min Score)"));
    }
  /* each class: images labelled (▢) and images with model boxes at the Min Score (⬚), apart */
  if (qr_catalog_class_counts (catalog, min_score, &ids, &names, &labelled, &predicted, NULL))
    for (guint i = 0; i < ids->len; i++)
      {
        gint64 nl = g_array_index (labelled, gint64, i), np = g_array_index (predicted, gint64, i);
        g_autofree char *text = nl > 0 && np > 0 ? g_strdup_printf ("%" G_GINT64_FORMAT " ▢  %" G_GINT64_FORMAT " ⬚", nl, np)
                                : nl > 0 ? g_strdup_printf ("%" G_GINT64_FORMAT " ▢", nl)
                                         : g_strdup_printf ("%" G_GINT64_FORMAT " ⬚", np);
        g_autofree char *tip = g_strdup_printf (_("%s: %" G_GINT64_FORMAT " images labelled, %" G_GINT64_FORMAT
                                                  " with model boxes at Min Score %.2f or above"),
                                                (const char *) names->pdata[i], nl, np, min_score);
        GtkWidget *row = add_row_text (self, names->pdata[i], text, QR_VIEW_CLASS, g_array_index (ids, gint64, i), TRUE);
        gtk_widget_set_tooltip_text (row, tip);
      }
  g_signal_handlers_block_matched (self->list, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  gtk_list_box_select_row (self->list, gtk_list_box_get_row_at_index (self->list, selected_index)
                                         ? gtk_list_box_get_row_at_index (self->list, selected_index)
                                         : gtk_list_box_get_row_at_index (self->list, 0));
  g_signal_handlers_unblock_matched (self->list, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
}

gboolean
qr_sidebar_get_selected (QrSidebar *self, QrImageView *view, gint64 *class_id)
{
  GtkListBoxRow *row = gtk_list_box_get_selected_row (self->list);

  if (row == NULL)
    return FALSE;
  *view = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "view"));
  *class_id = (gint64) GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (row), "class"));
  return TRUE;
}

void
qr_sidebar_select_all (QrSidebar *self)
{
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (self->list, 0);
  if (row != NULL)
    gtk_list_box_select_row (self->list, row);   /* emits view-selected */
}

static void
row_selected (GtkListBox *box, GtkListBoxRow *row, QrSidebar *self)
{
  if (row == NULL)
    return;
  g_signal_emit (self, view_selected_signal, 0, GPOINTER_TO_INT (g_object_get_data (G_OBJECT (row), "view")),
                 (gint64) GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (row), "class")));
}

static void
qr_sidebar_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), QR_TYPE_SIDEBAR);
  /* the template's top child has no id: it goes with the widget */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL;)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (qr_sidebar_parent_class)->dispose (object);
}

static void
qr_sidebar_class_init (QrSidebarClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = qr_sidebar_dispose;
  /* view (a QrImageView), class: a class id, or for the review view a kind 1..5 (0: every kind) */
  view_selected_signal = g_signal_new ("view-selected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                       NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT64);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/quorum/Quorum/ui/qr-sidebar.ui");
  gtk_widget_class_bind_template_child (widget_class, QrSidebar, list);
  gtk_widget_class_bind_template_callback (widget_class, row_selected);
}

static void
qr_sidebar_init (QrSidebar *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_set_name (GTK_WIDGET (self->list), "sidebar");
}
