/* demo_main.c — an application linking a kiln-generated module (mlp.c/mlp.h)
 * and libkiln_rt.a: it classifies one input and prints the probabilities. */
#include <stdio.h>

#include "mlp.h"

int main(void)
{
    static float x[64], probs[10];
    static unsigned char workspace[mlp_WORKSPACE_SIZE + 1] KILN_ALIGNED;
    const void *inputs[mlp_NUM_INPUTS] = {x};
    void *outputs[mlp_NUM_OUTPUTS] = {probs};
    const kiln_model_desc *desc = mlp_desc();
    int i, best = 0;
    kiln_status st;

    for (i = 0; i < 64; i++) x[i] = (float)((i * 37) % 17) / 8.0f - 1.0f;
    st = mlp_run(inputs, outputs, workspace);
    if (st != KILN_STATUS_OK) {
        fprintf(stderr, "mlp_run: %s\n", kiln_status_string(st));
        return 1;
    }
    printf("model '%s' compiled by kiln %s, workspace %zu bytes\n", desc->name, desc->compiler_version,
           desc->workspace_size);
    for (i = 0; i < 10; i++) {
        printf("class %d: %.4f\n", i, probs[i]);
        if (probs[i] > probs[best]) best = i;
    }
    printf("predicted class: %d\n", best);
    return 0;
}
