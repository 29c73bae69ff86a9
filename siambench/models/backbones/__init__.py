"""Feature extractors of the pysot model family (AlexNet, dilated ResNet-50, MobileNetV2)."""
