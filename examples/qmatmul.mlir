// A quantised matrix multiply as a compiler front end lowers it: linalg.matmul's generic
// form on memrefs, with the extensions that make it u8 x i8 -> i32.
#lhs = affine_map<(m, n, k) -> (m, k)>
#rhs = affine_map<(m, n, k) -> (k, n)>
#out = affine_map<(m, n, k) -> (m, n)>
module {
  func.func @qmatmul(%A: memref<128x256xi8>, %B: memref<256x128xi8>, %C: memref<128x128xi32>) {
    linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%A, %B : memref<128x256xi8>, memref<256x128xi8>) outs(%C : memref<128x128xi32>) {
    ^bb0(%a: i8, %b: i8, %c: i32):
      %0 = arith.extui %a : i8 to i32
      %1 = arith.extsi %b : i8 to i32
      %2 = arith.muli %0, %1 : i32
      %3 = arith.addi %c, %2 : i32
      linalg.yield %3 : i32
    }
    return
  }
}
