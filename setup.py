"""Install radplugins as a plugin package for the OpenMMLab stack."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name: str) -> list:
    """Return the requirement lines of ``requirements/<name>.txt``."""
    lines = (HERE / 'requirements' / f'{name}.txt').read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


def read_version() -> str:
    """Read ``__version__`` from radplugins/version.py without importing."""
    scope: dict = {}
    exec((HERE / 'radplugins' / 'version.py').read_text(), scope)
    return scope['__version__']


setup(
    name='radplugins',
    version=read_version(),
    description='OpenMMLab plugins for weakly supervised radiology: '
    'classifiers that show where the evidence is.',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    install_requires=read_requirements('runtime'),
    extras_require={
        'tests': read_requirements('tests'),
        'optional': read_requirements('optional'),
        'all': read_requirements('tests') + read_requirements('optional'),
    },
    license='Apache License 2.0',
    zip_safe=False,
)
