# 照镜 zhaojing —— 两条命令：make run（安装并启动）、make test（安装并运行测试）
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8501

.PHONY: install setup run test lint eval eval-baseline bench browser-deps clean-data

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# 首次运行：拼装内置模型（约 1.1 GB，仅一次）、建立知识库索引
setup: install
	$(BIN)/zhaojing setup

run: setup
	$(BIN)/streamlit run ui/app.py --server.address 127.0.0.1 --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

# 浏览器测试需要 Debian 的 chromium 与 chromium-driver（已安装则跳过）
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || ! command -v chromedriver >/dev/null 2>&1 \
		|| ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then \
		echo "安装 chromium、chromium-driver 与中文字体（浏览器测试用）"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null; \
	fi

test: install browser-deps
	$(BIN)/zhaojing setup --quiet
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .

eval: install
	$(BIN)/zhaojing eval-critic evals/datasets/critique_dev.yaml

# 重新生成 CI 门禁基线（有意改变指标时运行，并在提交说明里写明原因）
eval-baseline: setup
	id=$$(date +%Y%m%d-%H%M%S); \
	for ds in critique_dev:critique critique_holdout:critique-holdout critique_v2_dev:critique-v2 critique_v2_holdout:critique-v2-holdout; do \
		name=$${ds%%:*}; out=$${ds##*:}; \
		$(BIN)/zhaojing eval run $$name --run-id gate-$$out-$$id --no-report && \
		$(BIN)/zhaojing eval baseline gate-$$out-$$id -o evals/baselines/$$out.json || exit 1; \
	done; \
	$(BIN)/python evals/retrieval/run.py --out evals/baselines/retrieval.json && \
	$(BIN)/zhaojing eval grounding grounding_dev --json evals/baselines/grounding-dev.json && \
	$(BIN)/zhaojing eval grounding grounding_holdout --json evals/baselines/grounding-holdout.json && \
	$(BIN)/zhaojing eval proofread proofread_dev --json evals/baselines/proofread-dev.json && \
	$(BIN)/zhaojing eval proofread proofread_holdout --json evals/baselines/proofread-holdout.json && \
	$(BIN)/zhaojing eval run drafting_v2 --model embedded --no-kb --systems pipeline \
		--cases v2-geren-2024-fengdu-zhen-shuji,v2-zhibu-2025-wuling-tongjiju \
		--run-id gate-drafting-$$id --no-report && \
	$(BIN)/zhaojing eval baseline gate-drafting-$$id -o evals/baselines/drafting-ci.json --keep-text

bench: install
	$(BIN)/python benchmarks/bench_kb.py
	$(BIN)/python benchmarks/bench_critic.py
	$(BIN)/python benchmarks/bench_eval.py
