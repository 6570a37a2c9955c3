/* profile.c: the per-op and per-node time a backend measured over its runs, as one message. */
#define G_LOG_DOMAIN "quorum-engine"

#include "engine-private.h"

#include <string.h>

QrProfile *
qr_profile_new (guint n_nodes)
{
  QrProfile *profile = g_new0 (QrProfile, 1);
  profile->n_nodes = n_nodes;
  profile->node_us = g_new0 (double, MAX (n_nodes, 1));
  return profile;
}

/* us microseconds spent in node `id` */
void
qr_profile_add (QrProfile *profile, const QrNode *node, int id, double us)
{
  profile->op_us[node->op] += us;
  if (id >= 0 && (guint) id < profile->n_nodes)
    profile->node_us[id] += us;
}

void
qr_profile_free (QrProfile *profile)
{
  if (profile == NULL)
    return;
  g_free (profile->node_us);
  g_free (profile);
}

void
qr_profile_report (QrProfile *profile, QrGraph *graph, int batch, const char *where)
{
  g_autoptr (GString) text = NULL;
  g_autofree guint *order = NULL;
  double total = 0;
  guint n = 0;

  if (profile == NULL || profile->runs == 0)
    return;
  text = g_string_new (NULL);
  for (int op = 0; op < QR_N_OPS; op++)
    total += profile->op_us[op];
  total = MAX (total, 1e-9);
  g_string_append_printf (text, "%s: profile of %u runs at batch %d on %s: %.3f ms per run\n", graph->source,
                          profile->runs, batch, where, total / 1000.0 / profile->runs);
  for (int op = 0; op < QR_N_OPS; op++)
    if (profile->op_us[op] > 0)
      g_string_append_printf (text, "  %-12s %8.3f ms (%4.1f%%)\n", qr_op_name ((QrOpType) op),
                              profile->op_us[op] / 1000.0 / profile->runs, 100.0 * profile->op_us[op] / total);
  order = g_new (guint, MAX (profile->n_nodes, 1));
  for (guint i = 0; i < profile->n_nodes && i < graph->nodes->len; i++)
    if (profile->node_us[i] > 0)
      order[n++] = i;
  for (guint i = 0; i < n && i < 12; i++)   /* the slowest twelve, by selection */
    {
      guint best = i, t;
      QrNode *node;
      QrShape *out;
      for (guint j = i + 1; j < n; j++)
        if (profile->node_us[order[j]] > profile->node_us[order[best]])
          best = j;
      t = order[i];
      order[i] = order[best];
      order[best] = t;
      node = qr_graph_node (graph, (int) order[i]);
      out = &qr_graph_tensor (graph, node->outputs[0])->shape;
      g_string_append_printf (text, "  slowest: %-40s %-10s %8.3f ms  out [%d %d %d %d]\n", node->name,
                              qr_op_name (node->op), profile->node_us[order[i]] / 1000.0 / profile->runs,
                              out->dims[0], out->rank > 1 ? out->dims[1] : 0, out->rank > 2 ? out->dims[2] : 0,
                              out->rank > 3 ? out->dims[3] : 0);
    }
  g_message ("%s", text->str);
  memset (profile->op_us, 0, sizeof profile->op_us);
  memset (profile->node_us, 0, sizeof (double) * profile->n_nodes);
  profile->runs = 0;
}
