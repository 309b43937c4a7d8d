"""The spine task definitions, and who may import the generator."""
import ast
import os.path as osp
from pathlib import Path

import radplugins
from radplugins.datasets import spine_tasks
from radplugins.datasets.spine_tasks import (LESION_TASKS, SPINE_NUM_CLASSES,
                                             SPINE_TASKS, first_grade)

PACKAGE = Path(osp.dirname(radplugins.__file__))


def test_tasks_classes_grades_and_lesions():
    assert dict(zip(SPINE_TASKS, SPINE_NUM_CLASSES)) == {
        'pfirrmann': 5, 'narrowing': 4, 'upper_endplate': 2,
        'lower_endplate': 2, 'upper_marrow': 2, 'lower_marrow': 2
    }
    # Every lesion task is a binary task of the model, in the model's order.
    assert list(LESION_TASKS) == [t for t in SPINE_TASKS if t in LESION_TASKS]
    assert len(LESION_TASKS) == 4
    assert [first_grade(t) for t in SPINE_TASKS] == [1, 0, 0, 0, 0, 0]
    assert first_grade('not_a_task') == 0


def test_generator_reuses_the_definitions():
    from radplugins.datasets.synthetic import spine_generator
    for name in spine_tasks.__all__:
        if name.isupper():
            assert getattr(spine_generator, name) is getattr(
                spine_tasks, name), name


def _imports_synthetic(path: Path) -> list:
    """Import lines of ``path`` that reach ``datasets/synthetic``."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ''] + [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        if any('synthetic' in n.split('.') for n in names):
            found.append(f'{path.relative_to(PACKAGE)}:{node.lineno}')
    return found


def test_models_metrics_and_real_datasets_do_not_import_the_generators():
    files = [
        p for folder in ('models', 'evaluation', 'datasets')
        for p in (PACKAGE / folder).rglob('*.py')
        if 'synthetic' not in p.relative_to(PACKAGE).parts
    ]
    assert any(p.name == 'spine.py' for p in files)  # the scan sees them
    offenders = [hit for p in files for hit in _imports_synthetic(p)]
    assert offenders == []
