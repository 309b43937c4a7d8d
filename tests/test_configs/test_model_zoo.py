"""Each config family's README.md and metafile.yml, the model-zoo way.

Every family folder under configs/ has a README.md that names each of its
config files and a metafile.yml in MMPretrain's metafile schema, whose
entries are exactly the folder's configs.
"""
import glob
import numbers
import os.path as osp

import pytest
import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FAMILIES = ('detection', 'fracatlas', 'mura', 'spine')

# The keys MMPretrain's metafiles use at each level (mmpretrain 1.2,
# .mim/configs/*/metafile.yml; test_schema_is_mmpretrains checks them
# against the installed files), and those every one of its entries has.
SCHEMA = {
    'top': ({'Collections', 'Models'}, {'Collections', 'Models'}),
    'collection': ({'Name', 'Metadata', 'Paper', 'README', 'Code'},
                   {'Name', 'Metadata', 'Paper', 'README'}),
    'collection metadata': ({
        'Architecture', 'Training Data', 'Training Techniques',
        'Training Resources', 'Epochs', 'Batch Size'
    }, set()),
    'paper': ({'URL', 'Title'}, {'URL', 'Title'}),
    'model': ({
        'Name', 'Metadata', 'In Collection', 'Weights', 'Config', 'Results',
        'Converted From', 'Downstream', 'Pretrain'
    }, {'Name', 'Metadata', 'In Collection', 'Weights', 'Config'}),
    'model metadata': ({
        'FLOPs', 'Parameters', 'Training Data', 'Batch Size', 'Epochs',
        'Training Techniques'
    }, set()),
    'result': ({'Task', 'Dataset', 'Metrics'}, {'Task', 'Dataset',
                                               'Metrics'}),
}


def family_configs(family):
    return sorted(
        osp.basename(p)
        for p in glob.glob(osp.join(ROOT, 'configs', family, '*.py')))


def load_metafile(family):
    with open(osp.join(ROOT, 'configs', family, 'metafile.yml'),
              encoding='utf-8') as f:
        return yaml.safe_load(f)


def check_keys(entry, level, where):
    """Problems with ``entry``'s keys at ``level`` of the schema."""
    allowed, required = SCHEMA[level]
    if not isinstance(entry, dict):
        return [f'{where}: {level} is {type(entry).__name__}, not a mapping']
    problems = [f'{where}: {level} key {k!r} is not in MMPretrain\'s schema'
                for k in sorted(set(entry) - allowed)]
    problems += [f'{where}: {level} lacks {k!r}'
                 for k in sorted(required - set(entry))]
    return problems


def metafile_problems(meta, family):
    """Everything wrong with one family's parsed metafile."""
    where = f'configs/{family}/metafile.yml'
    problems = check_keys(meta, 'top', where)
    if problems:
        return problems
    names = set()
    for collection in meta['Collections']:
        at = f'{where}: collection {collection.get("Name")!r}'
        problems += check_keys(collection, 'collection', at)
        problems += check_keys(
            collection.get('Metadata', {}), 'collection metadata', at)
        problems += check_keys(collection.get('Paper', {}), 'paper', at)
        readme = collection.get('README')
        if readme != f'configs/{family}/README.md':
            problems.append(f'{at}: README {readme!r} is not this folder\'s')
        names.add(collection.get('Name'))
    seen = set()
    for model in meta['Models']:
        at = f'{where}: model {model.get("Name")!r}'
        problems += check_keys(model, 'model', at)
        problems += check_keys(model.get('Metadata', {}), 'model metadata',
                               at)
        if model.get('In Collection') not in names:
            problems.append(f'{at}: In Collection '
                            f'{model.get("In Collection")!r} is not a '
                            'collection of the file')
        config = model.get('Config', '')
        if not osp.isfile(osp.join(ROOT, config)):
            problems.append(f'{at}: Config {config!r} does not exist')
        if osp.dirname(config) != f'configs/{family}':
            problems.append(f'{at}: Config {config!r} is not in this folder')
        if model.get('Name') != osp.splitext(osp.basename(config))[0]:
            problems.append(f'{at}: Name is not the config\'s file name')
        if model.get('Name') in seen:
            problems.append(f'{at}: listed twice')
        seen.add(model.get('Name'))
        weights = model.get('Weights')
        if weights is not None and not str(weights).startswith('https://'):
            problems.append(f'{at}: Weights {weights!r} is neither null nor '
                            'an https URL')
        results = model.get('Results')
        if results is None:
            continue  # not measured, as MMPretrain writes it
        if not isinstance(results, list) or not results:
            problems.append(f'{at}: Results must be null or a non-empty '
                            'list')
            continue
        for result in results:
            problems += check_keys(result, 'result', at)
            metrics = result.get('Metrics') or {}
            if not metrics:
                problems.append(f'{at}: a result without metrics')
            for key, value in metrics.items():
                if isinstance(value, bool) or \
                        not isinstance(value, numbers.Real):
                    problems.append(f'{at}: metric {key!r} is {value!r}, '
                                    'not a number')
    return problems


@pytest.mark.parametrize('family', FAMILIES)
def test_metafile_follows_the_schema(family):
    problems = metafile_problems(load_metafile(family), family)
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('family', FAMILIES)
def test_metafile_lists_every_config_once(family):
    listed = sorted(
        osp.basename(m['Config']) for m in load_metafile(family)['Models'])
    assert listed == family_configs(family)


@pytest.mark.parametrize('family', FAMILIES)
def test_readme_names_every_config(family):
    with open(osp.join(ROOT, 'configs', family, 'README.md'),
              encoding='utf-8') as f:
        readme = f.read()
    missing = [c for c in family_configs(family)
               if f'[{c}]({c})' not in readme]
    assert not missing, (f'configs/{family}/README.md does not link '
                         f'{missing}')


def test_every_config_family_has_a_model_zoo_page():
    folders = sorted(
        osp.basename(p)
        for p in glob.glob(osp.join(ROOT, 'configs', '*'))
        if osp.isdir(p) and osp.basename(p) != '_base_')
    assert folders == sorted(FAMILIES)


def test_checker_catches_schema_errors():
    meta = {
        'Collections': [{
            'Name': 'C', 'Metadata': {'Training Data': 'x'},
            'Paper': {'URL': None, 'Title': 't'},
            'README': 'configs/mura/README.md'
        }],
        'Models': [{
            'Name': 'baseline_vgg19_1xb32_30e_mura',
            'Metadata': {'Epochs': 30, 'Training Time': '1 h'},
            'In Collection': 'D',
            'Results': [{'Task': 'Image Classification', 'Dataset': 'd',
                         'Metrics': {'Kappa': '0.9'}}],
            'Weights': 'work_dirs/epoch_30.pth',
            'Config': 'configs/mura/no_such_config.py',
        }],
    }
    problems = '\n'.join(metafile_problems(meta, 'mura'))
    assert "model metadata key 'Training Time' is not in" in problems
    assert "In Collection 'D' is not a collection" in problems
    assert "metric 'Kappa' is '0.9', not a number" in problems
    assert "Weights 'work_dirs/epoch_30.pth' is neither null" in problems
    assert "Config 'configs/mura/no_such_config.py' does not exist" in \
        problems
    assert "Name is not the config's file name" in problems
    assert 'lacks' not in problems
    del meta['Models'][0]['Weights']
    assert "model lacks 'Weights'" in '\n'.join(
        metafile_problems(meta, 'mura'))


def test_schema_is_mmpretrains():
    """SCHEMA's keys are what MMPretrain's own metafiles use, and its
    required keys are in every one of their entries."""
    import mmpretrain
    files = glob.glob(
        osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs', '*',
                 'metafile.yml'))
    if not files:
        pytest.skip('mmpretrain is installed without its .mim configs')
    seen = {level: set() for level in SCHEMA}
    always = {level: None for level in SCHEMA}

    def note(level, entry):
        keys = set(entry or {})
        seen[level] |= keys
        always[level] = keys if always[level] is None else \
            always[level] & keys

    for path in files:
        with open(path, encoding='utf-8') as f:
            # libyaml's loader when there is one: 84 files.
            meta = yaml.load(f, Loader=getattr(yaml, 'CSafeLoader',
                                               yaml.SafeLoader))
        note('top', meta)
        for collection in meta.get('Collections') or []:
            note('collection', collection)
            note('collection metadata', collection.get('Metadata'))
            note('paper', collection.get('Paper'))
        for model in meta.get('Models') or []:
            note('model', model)
            note('model metadata', model.get('Metadata'))
            for result in model.get('Results') or []:
                note('result', result)
    for level, (allowed, required) in SCHEMA.items():
        assert allowed <= seen[level], (level, allowed - seen[level])
        assert required <= always[level], (level, required - always[level])
