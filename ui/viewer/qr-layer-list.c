/* qr-layer-list.c: the Layers popover's checks (qr-layer-list.h), one per source of boxes on the
 * canvas, rebuilt when the sources change. */
#define G_LOG_DOMAIN "quorum-window"

#include "qr-layer-list.h"

#include <glib/gi18n.h>

struct _QrLayerList
{
  GtkBox    parent_instance;

  /* Borrowed references */
  QrCanvas *canvas;
};

G_DEFINE_FINAL_TYPE (QrLayerList, qr_layer_list, GTK_TYPE_BOX)

/* Layers: one check per source of boxes on the image (labels, then each model). */
static void
layer_toggled (GtkCheckButton *check, QrLayerList *self)
{
  qr_canvas_set_layer_visible (self->canvas, g_object_get_data (G_OBJECT (check), "source"),
                               gtk_check_button_get_active (check));
}

static void
canvas_changed (QrCanvas *canvas, QrLayerList *self)
{
  GPtrArray *boxes = qr_canvas_get_overlays (canvas);
  g_autoptr (GPtrArray) sources = g_ptr_array_new ();
  GtkWidget *child;
  g_autoptr (GString) key = g_string_new (NULL);

  for (guint i = 0; boxes != NULL && i < boxes->len; i++)
    {
      QrOverlayBox *b = boxes->pdata[i];
      const char *source = b->is_label ? "label" : b->source;
      if (!g_ptr_array_find_with_equal_func (sources, source, g_str_equal, NULL))
        g_ptr_array_add (sources, (gpointer) source);
    }
  for (guint i = 0; i < sources->len; i++)
    g_string_append_printf (key, "%s\n", (const char *) sources->pdata[i]);
  /* rebuilt only when the set of sources changes, so an open popover keeps its focus */
  if (g_strcmp0 (g_object_get_data (G_OBJECT (self), "sources"), key->str) == 0)
    return;
  g_object_set_data_full (G_OBJECT (self), "sources", g_strdup (key->str), g_free);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_box_remove (GTK_BOX (self), child);
  for (guint i = 0; i < sources->len; i++)
    {
      const char *source = sources->pdata[i];
      GtkWidget *check = gtk_check_button_new_with_label (g_str_equal (source, "label") ? _("Labels") : source);
      g_object_set_data_full (G_OBJECT (check), "source", g_strdup (source), g_free);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check), qr_canvas_get_layer_visible (canvas, source));
      g_signal_connect (check, "toggled", G_CALLBACK (layer_toggled), self);
      gtk_box_append (GTK_BOX (self), check);
    }
  if (sources->len == 0)
    gtk_box_append (GTK_BOX (self), gtk_label_new (_("No boxes on this image")));
}

void
qr_layer_list_set_canvas (QrLayerList *self, QrCanvas *canvas)
{
  self->canvas = canvas;
  g_signal_connect_object (canvas, "changed", G_CALLBACK (canvas_changed), self, 0);
}

static void
qr_layer_list_class_init (QrLayerListClass *klass)
{
}

static void
qr_layer_list_init (QrLayerList *self)
{
}
