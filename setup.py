"""Packaging glue that pyproject.toml cannot express: the root `templates/` folder ships
inside the package as `digest/templates`, so a non-editable `pip install .` finds it."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["digest", "digest.*"]), "digest.templates"],
    package_dir={"digest.templates": "templates"},
    package_data={"digest": ["data/*"], "digest.templates": ["*", "*/*", "*/*/*"]},
    include_package_data=False,
)
