"""The Django layer over konsilo's pure core: models, actions, selectors, API and pages."""
