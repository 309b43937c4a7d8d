# radplugins: two commands for a new user.
#   make demo   set up, then train and test the baseline, and fine-tune it
#               with and without zooming, on synthetic MURA with small lesions
#               (1,000 training studies; about 53 minutes on 2 CPU cores);
#               ends with a summary on screen and in work_dirs/demo/summary.md
#   make test   set up, then run the test suite
# Options of the demo:
#   DEMO_AMP=1            train and test in bfloat16 mixed precision (--amp;
#                         float32, said once, on a CPU without bfloat16
#                         instructions); outputs go to work_dirs/demo-bf16
#   DEMO_CHANNELS_LAST=1  channels-last models (--channels-last); with
#                         DEMO_AMP=1 about 25 minutes, but the baseline
#                         missed its take-off in 1 of 2 seeds
#                         (docs/mixed_precision.md)
#   DEMO_SEED=N           seed every training (randomness.seed=N)
PYTHON_BASE ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_PRESET ?= small-lesion-1000
DEMO_DATA ?= data/synthetic_mura_1000
DEMO_CONFIG ?= configs/mura/baseline_resnetv1d18_1xb16_10e_synthetic-mura-1000.py
DEMO_FT_CONFIG ?= configs/mura/baseline_resnetv1d18_1xb16_1e-ft_synthetic-mura-1000.py
DEMO_ZOOM_CONFIG ?= configs/mura/zoom_resnetv1d18_1xb16_1e-ft_synthetic-mura-1000.py
DEMO_AMP ?= 0
DEMO_CHANNELS_LAST ?= 0
DEMO_SEED ?=
ifeq ($(DEMO_AMP),1)
DEMO_WORK_DIR ?= work_dirs/demo-bf16
else
DEMO_WORK_DIR ?= work_dirs/demo
endif
DEMO_PRECISION := $(if $(filter 1,$(DEMO_AMP)),--amp) \
	$(if $(filter 1,$(DEMO_CHANNELS_LAST)),--channels-last)
DEMO_SEED_OPTION := $(if $(DEMO_SEED),randomness.seed=$(DEMO_SEED))
# One line per demo step that finished: STAGE STEP START END (date +%s).
DEMO_TIMES = $(DEMO_WORK_DIR)/wall_times.txt
BENCH_CONFIG ?= configs/mura/baseline_resnet18_1xb16_8e_synthetic-mura.py
PYTEST_ARGS ?=

.PHONY: env test demo demo-data bench bench-precision clean

# Idempotent: seconds when the environment is already built.
env:
	@PYTHON=$(PYTHON_BASE) VENV=$(VENV) bash tools/setup_env.sh

test: env
	$(PY) -m pytest tests $(PYTEST_ARGS)

$(DEMO_DATA)/MURA-v1.1/train_image_paths.csv: | env
	$(PY) tools/dataset_converters/make_synthetic_mura.py \
		--preset $(DEMO_PRESET) --out $(DEMO_DATA)

demo-data: $(DEMO_DATA)/MURA-v1.1/train_image_paths.csv

# Baseline, then from it two fine-tunings with the same schedule: plain
# (the control) and zooming (as in the paper). Each test prints its kappa
# table, the zoom's also its localisation table; the last step sums them
# up with the wall time of each step. A step runs as
#   t=$$(date +%s) && COMMAND && $(call timed,STAGE STEP)
# so its line in $(DEMO_TIMES) is written only when it succeeds.
timed = echo "$(1) $$t $$(date +%s)" >> $(DEMO_TIMES)

demo: env demo-data
	mkdir -p $(DEMO_WORK_DIR) && : > $(DEMO_TIMES)
	t=$$(date +%s) && $(PY) tools/train.py $(DEMO_CONFIG) \
		--work-dir $(DEMO_WORK_DIR)/baseline --data-root $(DEMO_DATA) \
		$(DEMO_PRECISION) $(if $(DEMO_SEED_OPTION),--cfg-options $(DEMO_SEED_OPTION)) \
		&& $(call timed,baseline train)
	t=$$(date +%s) && $(PY) tools/test.py $(DEMO_CONFIG) \
		"$$(cat $(DEMO_WORK_DIR)/baseline/last_checkpoint)" \
		--work-dir $(DEMO_WORK_DIR)/baseline/test --data-root $(DEMO_DATA) \
		$(DEMO_PRECISION) && $(call timed,baseline test)
	t=$$(date +%s) && $(PY) tools/train.py $(DEMO_FT_CONFIG) \
		--work-dir $(DEMO_WORK_DIR)/baseline-ft --data-root $(DEMO_DATA) \
		$(DEMO_PRECISION) --cfg-options $(DEMO_SEED_OPTION) \
		load_from="$$(cat $(DEMO_WORK_DIR)/baseline/last_checkpoint)" \
		&& $(call timed,baseline-ft train)
	t=$$(date +%s) && $(PY) tools/test.py $(DEMO_FT_CONFIG) \
		"$$(cat $(DEMO_WORK_DIR)/baseline-ft/last_checkpoint)" \
		--work-dir $(DEMO_WORK_DIR)/baseline-ft/test --data-root $(DEMO_DATA) \
		$(DEMO_PRECISION) && $(call timed,baseline-ft test)
	t=$$(date +%s) && $(PY) tools/train.py $(DEMO_ZOOM_CONFIG) \
		--work-dir $(DEMO_WORK_DIR)/zoom --data-root $(DEMO_DATA) \
		$(DEMO_PRECISION) --cfg-options $(DEMO_SEED_OPTION) \
		load_from="$$(cat $(DEMO_WORK_DIR)/baseline/last_checkpoint)" \
		&& $(call timed,zoom train)
	t=$$(date +%s) && $(PY) tools/test.py $(DEMO_ZOOM_CONFIG) \
		"$$(cat $(DEMO_WORK_DIR)/zoom/last_checkpoint)" \
		--work-dir $(DEMO_WORK_DIR)/zoom/test --data-root $(DEMO_DATA) \
		$(DEMO_PRECISION) && $(call timed,zoom test)
	$(PY) tools/analysis_tools/demo_summary.py $(DEMO_WORK_DIR) \
		--times $(DEMO_TIMES)
bench: env demo-data
	$(PY) tools/analysis_tools/benchmark_train.py $(BENCH_CONFIG) \
		--data-root $(DEMO_DATA)

# float32 against bfloat16 (and channels-last) on the demo's two models,
# side by side in one run each: train steps, inference, memory.
bench-precision: env demo-data
	$(PY) tools/analysis_tools/benchmark_train.py $(DEMO_CONFIG) \
		--data-root $(DEMO_DATA) --precision float32 bfloat16 \
		--channels-last --infer-iters 10
	$(PY) tools/analysis_tools/benchmark_zoom.py $(DEMO_ZOOM_CONFIG) \
		--batch 16 --precision float32 bfloat16 --channels-last \
		--infer-iters 5

clean:
	rm -rf $(DEMO_WORK_DIR) .pytest_cache
