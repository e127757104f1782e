module {
  func.func @qmatmul(%A: memref<128x256xi8> {tensorize.type = "u8"}, %B: memref<256x128xi8> {tensorize.type = "i8"}, %C: memref<128x128xi32> {tensorize.type = "i32"}) {
    affine.for %i = 0 to 128 {
      affine.for %j = 0 to 128 {
        affine.for %k = 0 to 256 {
          %v1 = affine.load %C[%i, %j] : memref<128x128xi32>
          %v2 = affine.load %A[%i, %k] : memref<128x256xi8>
          %t3 = arith.extui %v2 : i8 to i32
          %v4 = affine.load %B[%k, %j] : memref<256x128xi8>
          %t5 = arith.extsi %v4 : i8 to i32
          %t6 = arith.muli %t3, %t5 : i32
          %t7 = arith.addi %v1, %t6 : i32
          affine.store %t7, %C[%i, %j] : memref<128x128xi32>
        }
      }
    }
    return
  }
}
