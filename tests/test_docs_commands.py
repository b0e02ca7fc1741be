"""Every documented shell command works as written (in the spirit of runnable doc examples).

Every fenced ``bash``/``sh``/``shell``/``console`` block of README.md and docs/*.md is checked:

* **CPU-runnable blocks** carry the marker ``<!-- doctest: cpu -->`` on the line before the fence. They are run,
  as one bash script, in a sandbox: a temporary folder whose entries link to the repository's (so relative paths
  such as ``recipes/…`` resolve and outputs land in the sandbox), ``../shared/data`` linked when it exists,
  ``HOME``/``DATA_DIR``/``CKPT_DIR``/``MODEL_PATH`` pointing into the sandbox, the project's venv first on
  ``PATH`` (the docs say once to activate it) and the placeholders ``DIR`` and ``/path/to/shared/data`` replaced by
  ``../shared/data``. Mark only blocks that take seconds (never a recipe run or a GPU command).
* **Hydra override blocks** carry ``<!-- doctest: overrides -->``: each line is a Hydra override; they are composed
  onto recipes/siri_1.5b.yaml and the preflight (``siri-verl check``, without data and model checks) must accept them.
* **Every other command is checked statically** (and so are the CPU blocks, first): the executable exists (the
  venv's, else on PATH; ``python``/``pip``/``siri-verl``/``hf``/``pytest``/``ray`` are the venv's); a subcommand is
  listed by ``<exe> --help`` and every ``--flag`` of the command appears in ``<exe> [subcommand] --help``;
  referenced repository files (``recipes/…``, ``tests/…``, ``requirements*.txt`` …) exist; for a bash script, its
  flags appear in the script, environment variables set in front of it are read by it (or by recipes/_launch.sh
  when it sources it, or by a recipe it runs), and a recipe's Hydra arguments compose and pass the preflight
  (no data/model checks); ``python -c`` code compiles; ``export``-ed variables are read by a recipe or siri_verl.
  A command none of these rules can check fails the test: document it in a checkable way or mark it.

Placeholders (``$DATA_DIR``, ``$CKPT_DIR``, ``<node0-ip>``, ``DIR`` …) are not checked as files.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from repo_paths import REPO, SHARED_DATA

VENV_BIN = Path(sys.executable).parent  # the interpreter running the tests is the project's venv
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL_LANGS = {"bash", "sh", "shell", "console", "zsh"}
MARKER = re.compile(r"^\s*<!--\s*doctest:\s*(\w+)\s*-->\s*$")
MODES = {"cpu", "overrides"}
HELP_ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_UPDATE_CHECK": "1", "NO_COLOR": "1",
            "PYTHONWARNINGS": "ignore", "RAY_USAGE_STATS_ENABLED": "0"}
VENV_TOOLS = {"python", "python3", "pip", "pip3", "siri-verl", "hf", "pytest", "ray", "huggingface-cli"}
BUILTINS = {"export", ".", "source", "cd", "echo", "mkdir", "ls", "cat"}
REPO_TOP = {p.name for p in REPO.iterdir()}
CHECKED_SUFFIXES = (".sh", ".py", ".yaml", ".yml", ".txt", ".md", ".toml")
PLACEHOLDER = re.compile(r"\$|<[^>]*>|^DIR$|/path/to/|\bDIR\b|__PLACEHOLDER__|\.\.\.|…")


# ------------------------------------------------------------------------------------------------ parsing
@dataclass
class Block:
    file: Path
    line: int  # 1-based line of the opening fence
    lang: str
    mode: str | None  # "cpu", "overrides" or None
    text: str

    @property
    def where(self) -> str:
        try:
            name = self.file.relative_to(REPO)
        except ValueError:
            name = self.file.name
        return f"{name}:{self.line}"


@dataclass
class Command:
    line: int
    env: dict[str, str]
    argv: list[str]
    text: str = ""


def extract_blocks(path: Path) -> list[Block]:
    """Fenced shell blocks of a markdown file, with the doctest marker of the line before the fence."""
    blocks, lines = [], path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = re.match(r"^(\s*)(```+|~~~+)\s*([\w+-]*)", lines[index])
        if not match:
            index += 1
            continue
        fence, lang, start = match.group(2), match.group(3).lower(), index
        body = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index])
            index += 1
        index += 1
        previous = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        marker = MARKER.match(previous)
        mode = marker.group(1) if marker else None
        if lang in SHELL_LANGS or mode is not None:
            blocks.append(Block(path, start + 1, lang, mode, "\n".join(body)))
    return blocks


def split_commands(block: Block) -> list[Command]:
    """Simple commands of a block: continuation lines joined, comments dropped, split at && || ; |."""
    commands: list[Command] = []
    lines = block.text.splitlines()
    index = 0
    while index < len(lines):
        first, text = index, lines[index]
        while text.rstrip().endswith("\\") and index + 1 < len(lines):
            index += 1
            text = text.rstrip()[:-1] + " " + lines[index].strip()
        index += 1
        if block.lang == "console":
            if not text.lstrip().startswith("$ "):
                continue
            text = text.lstrip()[2:]
        text = re.sub(r"<[A-Za-z.][^<>\n]*>", "__PLACEHOLDER__", text)  # <the run's model>, <node0-ip> ...
        lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError as error:
            commands.append(Command(block.line + first + 1, {}, ["<unparsable>", str(error)], text))
            continue
        current: list[str] = []
        for token in [*tokens, ";"]:
            if token and set(token) <= set(";&|"):
                if current:
                    env = {}
                    while current and current[0] in ("do", "then", "else", "elif", "if", "while", "until", "!"):
                        current.pop(0)  # the command after a shell keyword is checked like any other
                    if current and current[0] in ("for", "case", "select", "done", "fi", "esac", "{", "}"):
                        current = []  # loop headers (their words are data) and closing keywords
                    while current and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", current[0]):
                        name, _, value = current.pop(0).partition("=")
                        env[name] = value
                    if current:
                        commands.append(Command(block.line + first + 1, env, current, text))
                current = []
            else:
                current.append(token)
    return commands


# --------------------------------------------------------------------------------------------- static checks
def resolve_executable(name: str) -> str | None:
    if "/" in name:
        path = (REPO / name) if not os.path.isabs(name) else Path(name)
        return str(path) if path.exists() else None
    if name in VENV_TOOLS and (VENV_BIN / name).exists():
        return str(VENV_BIN / name)
    return shutil.which(name)


_PREFETCH: dict[tuple[str, ...], Future] = {}


def help_text(argv: tuple[str, ...]) -> tuple[int, str]:
    """``<argv> --help``: exit code and output (started early by :func:`prefetch_help`, then cached)."""
    if argv not in _PREFETCH:
        _PREFETCH[argv] = _POOL.submit(_run_help, argv)
    return _PREFETCH[argv].result()


def _run_help(argv: tuple[str, ...]) -> tuple[int, str]:
    try:
        done = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=120, env=HELP_ENV,
                              cwd=REPO, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return 124, f"{' '.join(argv)} --help timed out"
    return done.returncode, done.stdout + done.stderr


def is_placeholder(token: str) -> bool:
    return bool(PLACEHOLDER.search(token))


def repo_path_problem(token: str) -> str | None:
    """A token that names a repository file must exist; outputs and placeholders are not checked."""
    value = token.split("=", 1)[1] if token.startswith("-") and "=" in token else token
    if is_placeholder(value) or value.startswith(("..", "/", "~")) or "=" in value:
        return None
    first = value.split("/", 1)[0]
    in_repo = "/" in value and first in REPO_TOP
    if (in_repo or "/" not in value) and value.endswith(CHECKED_SUFFIXES) and not (REPO / value).exists():
        return f"{value} does not exist in the repository"
    if in_repo and not (REPO / value).parent.is_dir():  # an output path (e.g. a plot prefix) needs its folder
        return f"{value}: folder {Path(value).parent} does not exist in the repository"
    return None


def flag_of(token: str) -> str | None:
    if not token.startswith("-") or token in ("-", "--") or re.match(r"^-\d", token):
        return None
    return token.split("=", 1)[0]


def flag_in_help(flag: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


def reads_variable(text: str, name: str) -> bool:
    return re.search(rf"\$\{{?{re.escape(name)}\b|os\.environ(?:\.get)?[\[(]\s*['\"]{re.escape(name)}['\"]|"
                     rf"getenv\(\s*['\"]{re.escape(name)}['\"]", text) is not None


def script_texts(script: Path) -> list[str]:
    """A script's text plus recipes/_launch.sh when it sources it and the recipes it runs (one level)."""
    text = script.read_text()
    texts = [text]
    if "_launch.sh" in text:
        texts.append((REPO / "recipes" / "_launch.sh").read_text())
    for other in re.findall(r"(?:recipes/|\$RECIPES_DIR/|\$REPO/recipes/)([\w.-]+\.sh)", text):
        path = REPO / "recipes" / other
        if path.is_file() and path != script:
            texts.append(path.read_text())
            if "_launch.sh" in texts[-1] and "_launch.sh" not in text:
                texts.append((REPO / "recipes" / "_launch.sh").read_text())
    return texts


def uses_launcher(script: Path) -> bool:
    return any("siri_launch" in text or "exec bash" in text for text in script_texts(script)[:1])


def preflight_problems(target: str, overrides: list[str], env: dict[str, str]) -> list[str]:
    """Compose a recipe (.sh as it would launch, or .yaml) with ``overrides`` and run the preflight without the
    data and model checks; its errors."""
    from siri_verl.preflight import PreflightError, check_config
    from siri_verl.recipe_config import compose_target

    saved = {name: os.environ.get(name) for name in env}
    os.environ.update({k: v for k, v in env.items() if not is_placeholder(v)})
    try:
        config = compose_target(target, overrides)
        report = check_config(config, check_data=False, check_model=False)
    except (PreflightError, Exception) as error:  # noqa: BLE001 - composing errors are what we report
        return [f"{target} {' '.join(overrides)} does not compose: {str(error).strip()[:600]}"]
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return [f"{target} {' '.join(overrides)}: preflight error {finding}" for finding in report.errors]


def check_script(script: Path, args: list[str], env: dict[str, str]) -> list[str]:
    problems = []
    texts = script_texts(script)
    for name in env:
        if not any(reads_variable(text, name) for text in texts):
            problems.append(f"{name}=… is set in front of {script.relative_to(REPO)}, which never reads ${name}")
    hydra = script.name == "siri_tiny_cpu.sh" or any("siri_launch" in t for t in texts)
    if not hydra:
        for token in args:
            flag = flag_of(token)
            if flag and not any(flag_in_help(flag, text) for text in texts):
                problems.append(f"{script.relative_to(REPO)} does not handle {flag}")
        return problems
    overrides = [a for a in args if not a.startswith("-") and a != "job"]
    if script.name == "siri_tiny_cpu.sh":
        problems += preflight_problems(str(REPO / "recipes" / "siri_tiny_cpu.yaml"), overrides, env)
    else:
        problems += preflight_problems(str(script), args, env)
    return problems


def check_python(exe: str, args: list[str], env: dict[str, str]) -> list[str]:
    if not args:
        return ["bare python (interactive) is not a documented command"]
    if args[0] == "-c":
        try:
            compile(args[1], "<doc>", "exec")
        except (SyntaxError, IndexError) as error:
            return [f"python -c code does not compile: {error}"]
        return []
    if args[0] == "-m":
        module, rest = args[1], args[2:]
        if module == "venv":
            return generic_flags((exe, "-m", "venv"), [a for a in rest if a.startswith("-")])
        if module == "pytest":
            return check_tool((exe, "-m", "pytest"), rest, subcommands=False)
        problems = []
        for name in env:
            source = find_module_source(exe, module)
            if source is None or not reads_variable(source, name):
                problems.append(f"{name}=… is set in front of python -m {module}, which does not read it")
        return problems + check_tool((exe, "-m", module), rest)
    script = args[0]
    if not (REPO / script).is_file():
        return [f"python script {script} does not exist"]
    return check_tool((exe, script), args[1:])


def find_module_source(exe: str, module: str) -> str | None:
    done = subprocess.run([exe, "-c", f"import importlib.util as u; s = u.find_spec({module!r}); print(s.origin)"],
                          capture_output=True, text=True, env=HELP_ENV, timeout=120)
    origin = done.stdout.strip()
    if done.returncode or not origin or not os.path.isfile(origin):
        return None
    return Path(origin).read_text()


def generic_flags(tool: tuple[str, ...], args: list[str]) -> list[str]:
    code, text = help_text(tool)
    if code != 0:
        return [f"`{' '.join(tool)} --help` fails (exit {code}): {text[-300:]}"]
    return [f"`{' '.join(tool)}` does not accept {flag_of(a)}" for a in args
            if flag_of(a) and not flag_in_help(flag_of(a), text)]


def check_tool(tool: tuple[str, ...], args: list[str], subcommands: bool = True) -> list[str]:
    """Subcommand (if the first positional argument is one) and flags against ``--help``; repository files."""
    code, text = help_text(tool)
    name = " ".join(Path(tool[0]).name if i == 0 else t for i, t in enumerate(tool))
    if code != 0 or "deprecated and no longer works" in text:
        return [f"`{name} --help` fails (exit {code}): {text.strip()[-300:]}"]
    positional = [a for a in args if not a.startswith("-")]
    first_flag_index = next((i for i, a in enumerate(args) if a.startswith("-")), len(args))
    if subcommands and positional and re.match(r"^[a-z][a-z0-9_-]*$", positional[0]) and \
            args.index(positional[0]) < first_flag_index + 1 and args and args[0] == positional[0]:
        sub = positional[0]
        if not flag_in_help(sub, text):
            return [f"`{name}` has no subcommand {sub!r}"]
        code, sub_text = help_text((*tool, sub))
        if code != 0 or "deprecated and no longer works" in sub_text:
            return [f"`{name} {sub} --help` fails (exit {code}): {sub_text.strip()[-300:]}"]
        text, name, args = sub_text, f"{name} {sub}", args[1:]
    problems = [f"`{name}` does not accept {flag_of(a)}" for a in args
                if flag_of(a) and not flag_in_help(flag_of(a), text)]
    problems += [p for a in args if (p := repo_path_problem(a))]
    return problems


def check_export(args: list[str]) -> list[str]:
    sources = "\n".join(p.read_text() for p in [*(REPO / "recipes").glob("*.sh"), *(REPO / "siri_verl").rglob("*.py")])
    problems = []
    for assignment in args:
        name = assignment.split("=", 1)[0]
        if not reads_variable(sources, name):
            problems.append(f"export {name}: no recipe and no siri_verl module reads ${name}")
    return problems


def check_command(command: Command) -> list[str]:
    """Problems of one documented command; [] when it is checked and fine."""
    if not command.argv:
        return []
    exe_name, args = command.argv[0], command.argv[1:]
    if exe_name == "<unparsable>":
        return [f"cannot parse the command: {args[0]}"]
    if exe_name in (".", "source"):
        return [] if args and (REPO / args[0]).exists() or args and is_placeholder(args[0]) else \
            [f"`{exe_name} {' '.join(args)}`: file does not exist"]
    if exe_name == "export":
        return check_export(args)
    if exe_name in BUILTINS:
        return [p for a in args if (p := repo_path_problem(a))]
    if exe_name == "bash" or exe_name.endswith(".sh"):
        script_arg, rest = (args[0], args[1:]) if exe_name == "bash" else (exe_name, args)
        script = REPO / script_arg
        if not script.is_file():
            return [f"script {script_arg} does not exist"]
        if exe_name.endswith(".sh") and not os.access(script, os.X_OK):
            return [f"{script_arg} is run directly but is not executable"]
        return check_script(script, rest, command.env)
    exe = resolve_executable(exe_name)
    if exe is None:
        return [f"executable {exe_name!r} is not installed here (neither in the venv nor on PATH) and the command is "
                "not marked: it cannot be checked"]
    if command.env:
        return [f"environment {sorted(command.env)} in front of {exe_name}: cannot check that it reads them"]
    base = Path(exe_name).name
    if base.startswith("python"):
        return check_python(exe, args, command.env)
    if base in ("pytest", "py.test"):
        return check_tool((exe,), args, subcommands=False)
    if base in ("pip", "pip3", "siri-verl", "hf", "ray", "huggingface-cli"):
        return check_tool((exe,), args)
    return [f"`{exe_name}` is not a command this test knows how to check; mark the block `<!-- doctest: cpu -->` "
            "if it is cheap to run, or teach tests/test_docs_commands.py how to check it"]


def check_overrides_block(block: Block) -> list[str]:
    overrides = [line.split("#", 1)[0].strip() for line in block.text.splitlines()]
    overrides = [o for o in overrides if o]
    bad = [o for o in overrides if "=" not in o or " " in o]
    if bad:
        return [f"{block.where}: not Hydra overrides: {bad}"]
    return preflight_problems(str(REPO / "recipes" / "siri_1.5b.yaml"), overrides, {})


def static_problems(block: Block) -> list[str]:
    if block.mode == "overrides":
        return check_overrides_block(block)
    if block.mode is not None and block.mode not in MODES:
        return [f"{block.where}: unknown doctest marker {block.mode!r} (use one of {sorted(MODES)})"]
    problems = []
    for command in split_commands(block):
        problems += [f"{block.file.name}:{command.line}: `{command.text.strip()[:120]}`: {p}"
                     for p in check_command(command)]
    return problems


# ------------------------------------------------------------------------------------------------- CPU runs
def make_sandbox(root: Path) -> tuple[Path, dict[str, str]]:
    work = root / "work"
    work.mkdir(parents=True)
    for entry in REPO.iterdir():
        if entry.name not in ("outputs", "results", ".git", ".pytest_cache"):
            (work / entry.name).symlink_to(entry)
    if SHARED_DATA.parent.is_dir():
        (root / "shared").symlink_to(SHARED_DATA.parent)
    home = root / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "VIRTUAL_ENV": str(VENV_BIN.parent), "DATA_DIR": str(root / "data"), "CKPT_DIR": str(root / "ckpt"),
           "MODEL_PATH": str(root / "model"), "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1",
           "MPLCONFIGDIR": str(root / "mpl")}
    return work, env


def run_block(block: Block, root: Path, timeout: float = 180) -> str | None:
    """Run a CPU-marked block in a sandbox; the failure (with output) or None."""
    work, env = make_sandbox(root)
    script = re.sub(r"(?<![\w/$-])DIR(?![\w])", "../shared/data", block.text).replace("/path/to/shared/data",
                                                                                          "../shared/data")
    done = subprocess.run(["bash", "-c", "set -eo pipefail\n" + script], cwd=work, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0:
        return (f"{block.where}: the CPU-marked block failed (exit {done.returncode}):\n{block.text}\n--- output:\n"
                f"{(done.stdout + done.stderr)[-3000:]}")
    return None


# ---------------------------------------------------------------------------------------------------- tests
ALL_BLOCKS = [block for path in DOC_FILES for block in extract_blocks(path)]
_POOL = ThreadPoolExecutor(max_workers=2)  # --help of python tools is mostly import time: overlap two of them


def prefetch_help(blocks: list[Block]) -> None:
    """Start the ``--help`` calls the static checks will need (tool, and tool + its first word when that looks
    like a subcommand), two at a time, while the tests run."""
    for block in blocks:
        if block.mode == "overrides":
            continue
        for command in split_commands(block):
            argv = command.argv
            if not argv or argv[0] in BUILTINS or argv[0] in (".", "source", "bash") or argv[0].endswith(".sh"):
                continue
            exe = resolve_executable(argv[0])
            if exe is None:
                continue
            base, rest = Path(argv[0]).name, argv[1:]
            if base.startswith("python"):
                if len(rest) >= 2 and rest[0] == "-m" and rest[1] not in ("venv",):
                    tool, rest = (exe, "-m", rest[1]), rest[2:]
                elif rest and rest[0].endswith(".py") and (REPO / rest[0]).is_file():
                    tool, rest = (exe, rest[0]), rest[1:]
                else:
                    continue
            else:
                tool = (exe,)
            help_text_async(tool)
            if rest and re.match(r"^[a-z][a-z0-9_-]*$", rest[0]):
                help_text_async((*tool, rest[0]))


def help_text_async(argv: tuple[str, ...]) -> None:
    if argv not in _PREFETCH:
        _PREFETCH[argv] = _POOL.submit(_run_help, argv)


@pytest.fixture(scope="module")
def help_prefetched():
    """Start every ``--help`` the sweep needs, at the sweep's first test (not at import: ``-m "not slow"``
    deselects the sweep and must not pay for its subprocesses)."""
    prefetch_help(ALL_BLOCKS)


def test_the_docs_have_shell_blocks_and_some_run_on_cpu():
    assert len(ALL_BLOCKS) >= 10
    assert sum(block.mode == "cpu" for block in ALL_BLOCKS) >= 2


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=[b.where for b in ALL_BLOCKS])
@pytest.mark.slow  # the docs sweep: every shell block, recipes composed, `doctest: cpu` blocks run
@pytest.mark.subprocess
def test_documented_commands(block, tmp_path, help_prefetched):
    problems = static_problems(block)
    assert not problems, "\n".join(problems)
    if block.mode == "cpu":
        if "../shared/data" in block.text or re.search(r"(?<![\w/$-])DIR\b", block.text):
            if not SHARED_DATA.is_dir():
                pytest.skip(f"{block.where} reads ../shared/data, absent here ({SHARED_DATA}); checked statically")
        failure = run_block(block, tmp_path)
        assert failure is None, failure


# ------------------------------------------------------------------------------------- the checker itself
SYNTHETIC = """\
# Synthetic page

<!-- doctest: cpu -->
```bash
siri-verl schedule --kind stair --min 16 --max 48 --period 4 --cycles 1 --format csv
```

```bash
siri-verl schedule --kind cosine --minimum 8192 --max 16384 --period 640 --steps 1920
python data_prep/prepare.py all --input-dir DIR --output-dir $DATA_DIR
python data_prep/prepare_data.py all --input-dir DIR --output-dir $DATA_DIR
bash recipes/siri_1.5b_renamed.sh
GPUS_PER_NODE=1 NOT_A_RECIPE_VARIABLE=1 bash recipes/siri_smoke_gpu.sh
pip install -r requirements-gpu-renamed.txt
siri-verl chek recipes/siri_1.5b.sh
frobnicate --all
OUT=outputs/x recipes/siri_tiny_cpu.sh algorithm.siri.truncation=zero
huggingface-cli download deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B --local-dir $HOME/models/r1-1.5b
```

<!-- doctest: cpu -->
```bash
siri-verl schedule --kind cosine --min 8192 --max 16384 --period 0 --steps 10
```

<!-- doctest: overrides -->
```bash
+reward.custom_reward_function.reward_kwargs.truncatd_score=zero
```
"""


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_checker_catches_renamed_flags_files_variables_and_unknown_commands(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(SYNTHETIC)
    blocks = extract_blocks(page)
    assert [(b.mode, b.line) for b in blocks] == [("cpu", 4), (None, 8), ("cpu", 22), ("overrides", 27)]
    assert static_problems(blocks[0]) == [] and run_block(blocks[0], tmp_path / "ok") is None

    problems = static_problems(blocks[1])
    expected = [
        "does not accept --minimum",                          # a renamed flag
        "python script data_prep/prepare_data.py does not exist",  # a renamed file
        "script recipes/siri_1.5b_renamed.sh does not exist",  # a renamed recipe
        "NOT_A_RECIPE_VARIABLE=… is set in front of recipes/siri_smoke_gpu.sh",
        "requirements-gpu-renamed.txt does not exist",
        "has no subcommand 'chek'",
        "executable 'frobnicate' is not installed",
        "preflight error algorithm.adv_estimator",            # truncation=zero without siri_grpo (issue 16 #3)
        "`huggingface-cli --help` fails",                     # huggingface_hub 1.x: use `hf download`
    ]
    for fragment in expected:
        assert sum(fragment in p for p in problems) == 1, (fragment, problems)
    assert len(problems) == len(expected), problems  # the good command (prepare.py all) is not reported

    failure = run_block(blocks[2], tmp_path / "bad")
    assert failure is not None and "exit 2" in failure and "period=0" in failure
    assert any("reward_kwargs.truncatd_score" in p for p in static_problems(blocks[3]))
